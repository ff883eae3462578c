// Container create (`POST /containers/create`): parses and checks the body against the image and
// the host, reserves the name, makes the volumes, the init layer and the rootfs snapshot, and writes
// the record; a failure undoes each of them. A function over the Containers service (service.ts).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, createLogger, invalidArgument, logFailure, newId } from '../../../common/index.js';
import { checkPlatform, parseCreateBody, mergeConfig, parseMounts, validateName } from './create.js';
import { initialState, saveRecord, type ContainerRecord } from './record.js';
import { createInitLayer, removeContainerSnapshots } from './init-layer.js';
import { verifyContainerSettings } from './validate.js';
import { refuseUnsupported } from './unsupported.js';
import { hostFacts } from './host-facts.js';
import { mergeVolumesFrom, normalizeLinks, resolveNamespaceModes, volumesFromMounts } from './shared.js';
import { nameFor } from './names.js';
import type { Containers } from './service.js';

const log = createLogger({ component: 'engine.containers' });

/** `platform` ("os[/arch[/variant]]", create's query parameter): the local image must be of it. */
export async function createContainer(
  svc: Containers,
  raw: unknown,
  name?: string,
  platform?: string,
): Promise<{ Id: string; Warnings: string[] }> {
  const body = parseCreateBody(raw);
  const warnings = verifyContainerSettings(body, hostFacts());
  refuseUnsupported(body);
  const nm = body.HostConfig?.NetworkMode ?? '';
  if (nm.startsWith('container:')) svc.live(nm.slice(10));
  const img = await svc.ctx.images.resolve(body.Image);
  if (platform) checkPlatform(body.Image, platform, img.config);
  const id = newId();
  const fullName = name ? validateName(name) : `/${freeName(svc)}`;
  if (svc.names.has(fullName.slice(1))) {
    throw conflict(
      `Conflict. The container name "${fullName}" is already in use by container "${svc.names.get(fullName.slice(1))}". You have to remove (or rename) that container to be able to reuse that name.`,
      { field: 'name' },
    );
  }
  const { config, hostConfig, path, args } = mergeConfig(body, img.config, id);
  const lookup = (r: string) => svc.get(r);
  if (hostConfig.Links?.length) hostConfig.Links = normalizeLinks(hostConfig.Links, fullName, lookup);
  resolveNamespaceModes(hostConfig, lookup);
  const mounts = mergeVolumesFrom(
    parseMounts(body, Object.keys(img.config.config?.Volumes ?? {})),
    volumesFromMounts(hostConfig.VolumesFrom ?? [], lookup),
  );
  const dir = svc.dirOf(id);
  svc.names.set(fullName.slice(1), id); // reserve while creating
  const snapshotKey = `container-${id}`;
  let prepared = false;
  try {
    for (const m of mounts) {
      if (m.Type === 'volume') {
        if (!m.Name) m.Name = newId();
        const v = await svc.ctx.volumes.ensure(m.Name, {
          anonymous: m.Anonymous,
          labels: m.VolumeOptions?.Labels,
          driver: m.VolumeOptions?.DriverConfig?.Name,
          driverOpts: m.VolumeOptions?.DriverConfig?.Options,
        });
        m.Source = v.Mountpoint;
      } else if (m.Type === 'bind' && (body.HostConfig?.Binds ?? []).length && !existsSync(m.Source)) {
        mkdirSync(m.Source, { recursive: true }); // -v /host/path creates it, as dockerd does
      } else if (m.Type === 'bind' && !existsSync(m.Source)) {
        throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`, {
          field: 'HostConfig.Mounts.Source',
        });
      }
    }
    const parent = await svc.ctx.images.unpack(img.id);
    const labels = { 'org.skiff.container': id };
    const init = await createInitLayer(svc.ctx.snapshotter, snapshotKey, parent, labels);
    try {
      await svc.ctx.snapshotter.prepare(snapshotKey, init, { labels });
    } catch (e) {
      await svc.ctx.snapshotter.remove(init).catch(logFailure(log, 'create: snapshot left', { key: init }));
      throw e;
    }
    prepared = true;
    mkdirSync(join(dir, 'rootfs'), { recursive: true });
    const netName = hostConfig.NetworkMode!.startsWith('container:') ? '' : hostConfig.NetworkMode!;
    const networks = netName ? svc.nets.endpointsFor(netName, body.NetworkingConfig?.EndpointsConfig ?? {}) : {};
    const rec: ContainerRecord = {
      Id: id,
      Name: fullName,
      Created: new Date().toISOString(),
      Path: path,
      Args: args,
      Image: img.id,
      ImageName: body.Image,
      Config: config,
      HostConfig: hostConfig,
      State: initialState(),
      RestartCount: 0,
      Mounts: mounts,
      Networks: networks,
      ExecIDs: [],
      SnapshotKey: snapshotKey,
      ManuallyStopped: false,
      HasBeenStarted: false,
    };
    saveRecord(dir, rec);
    const c = svc.adopt(rec, dir);
    svc.emit(c, 'create');
    return { Id: id, Warnings: warnings };
  } catch (e) {
    svc.names.delete(fullName.slice(1));
    const left = (what: string) => logFailure(log, `create: ${what} left after a failure`, { id });
    if (prepared) await removeContainerSnapshots(svc.ctx.snapshotter, snapshotKey).catch(left('snapshots'));
    rmSync(dir, { recursive: true, force: true });
    for (const m of mounts) if (m.Anonymous && m.Name) await svc.ctx.volumes.remove(m.Name).catch(left('volume'));
    throw e;
  }
}

function freeName(svc: Containers): string {
  for (;;) {
    const n = nameFor();
    if (!svc.names.has(n)) return n;
  }
}
