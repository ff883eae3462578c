// Platforms ("linux/arm64/v8"): parsing, normalisation (x86_64 → amd64, aarch64 → arm64,
// arm64 ≡ arm64/v8, arm ≡ arm/v7) and picking the best manifest of an index for a platform, as
// containerd's `platforms.Only` does (arm/v7 also runs v6 and v5 images, preferring v7).
import { invalidArgument, notFound } from '../../common/index.js';
import type { Descriptor, Platform } from './schemas.js';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: 'i386',
  386: '386',
  ia32: '386',
  x64: 'amd64',
  ppc64: 'ppc64le',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** Normalises os/architecture/variant so equal platforms compare equal. */
export function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  const rawArch = p.architecture.toLowerCase();
  let architecture = ARCH_ALIASES[rawArch] ?? rawArch;
  if (architecture === 'i386') architecture = '386';
  let variant = p.variant?.toLowerCase() || undefined;
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'arm') {
    if (rawArch === 'armel') variant = variant ?? 'v6';
    variant = variant ?? 'v7';
    if (/^\d+$/.test(variant)) variant = `v${variant}`;
  }
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Parses "os/arch[/variant]" (os may be omitted: "arm64" means linux/arm64). */
export function parsePlatform(s: string, field = 'platform'): PlatformSpec {
  const parts = s.split('/');
  if (parts.some((x) => !/^[A-Za-z0-9_.-]+$/.test(x)) || parts.length > 3) {
    throw invalidArgument(`invalid platform ${JSON.stringify(s)}: want os/arch[/variant], e.g. linux/arm64/v8`, {
      field,
    });
  }
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0] });
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function formatPlatform(p: PlatformSpec): string {
  const n = normalizePlatform(p);
  return `${n.os}/${n.architecture}${n.variant ? `/${n.variant}` : ''}`;
}

/** The platform of this machine (linux/amd64 here). */
export function hostPlatform(): PlatformSpec {
  return normalizePlatform({
    os: process.platform === 'linux' ? 'linux' : process.platform,
    architecture: process.arch,
  });
}

/** Default platform for pulls and unpacks: the host's, which on this project's machines is linux/amd64. */
export const defaultPlatform = hostPlatform;

/** 0 = exact match; larger = acceptable but less preferred; -1 = cannot run. */
export function platformRank(want: PlatformSpec, have: Platform | PlatformSpec | undefined): number {
  if (!have) return -1;
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return -1;
  if ((w.variant ?? '') === (h.variant ?? '')) return 0;
  if (w.architecture === 'arm' && w.variant && h.variant) {
    const wv = Number(w.variant.slice(1));
    const hv = Number(h.variant.slice(1));
    if (hv < wv) return wv - hv;
  }
  return -1;
}

export function platformMatches(want: PlatformSpec, have: Platform | PlatformSpec | undefined): boolean {
  return platformRank(want, have) >= 0;
}

/** The best manifest descriptor of an index for `platform`; NotFound lists what there is.
 *  Attestation manifests (BuildKit's unknown/unknown) are never chosen. */
export function selectManifest(
  manifests: readonly Descriptor[],
  platform: PlatformSpec = defaultPlatform(),
): Descriptor {
  let best: Descriptor | undefined;
  let bestRank = Infinity;
  for (const d of manifests) {
    const r = platformRank(platform, d.platform);
    if (r >= 0 && r < bestRank) {
      best = d;
      bestRank = r;
    }
  }
  if (best) return best;
  const have = manifests
    .map((d) => (d.platform ? formatPlatform(d.platform) : '(no platform)'))
    .filter((x) => x !== 'unknown/unknown');
  throw notFound(
    `no matching manifest for ${formatPlatform(platform)} in the manifest list entries (available: ${have.join(', ') || 'none'})`,
    { field: 'platform' },
  );
}
