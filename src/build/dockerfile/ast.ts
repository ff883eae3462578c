// The Dockerfile AST: one discriminated union member per instruction. Arguments that the builder
// expands ($VAR) are kept raw here (with their quotes), since their values depend on ARG/ENV state
// at build time; the builder expands them with `expandWord`/`expandWords`.

/** A heredoc attached to RUN/COPY/ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`). */
export interface Heredoc {
  name: string;
  content: string;
  /** False when the delimiter was quoted: no variable expansion in the body. */
  expand: boolean;
  /** `<<-`: leading tabs were stripped. */
  chomp: boolean;
}

export interface Base {
  /** 1-based line of the instruction's first line. */
  line: number;
  /** The instruction as written (continuations joined), for history and cache keys. */
  original: string;
  /** `--name=value` flags (`--link` → 'true'). */
  flags: Record<string, string>;
}

export type CommandForm = { form: 'exec'; args: string[] } | { form: 'shell'; command: string };

export type Instruction =
  | (Base & { kind: 'FROM'; image: string; alias?: string })
  | (Base & { kind: 'RUN'; cmd: CommandForm; heredocs: Heredoc[] })
  | (Base & { kind: 'CMD'; cmd: CommandForm })
  | (Base & { kind: 'ENTRYPOINT'; cmd: CommandForm })
  | (Base & { kind: 'ENV'; pairs: Array<[string, string]> })
  | (Base & { kind: 'LABEL'; pairs: Array<[string, string]> })
  | (Base & { kind: 'ARG'; args: Array<{ name: string; default?: string }> })
  | (Base & { kind: 'EXPOSE'; ports: string[] })
  | (Base & { kind: 'COPY' | 'ADD'; sources: string[]; dest: string; heredocs: Heredoc[] })
  | (Base & { kind: 'WORKDIR'; path: string })
  | (Base & { kind: 'USER'; user: string })
  | (Base & { kind: 'VOLUME'; paths: string[]; json: boolean })
  | (Base & { kind: 'HEALTHCHECK'; test: { type: 'NONE' } | { type: 'CMD'; cmd: CommandForm } })
  | (Base & { kind: 'SHELL'; shell: string[] })
  | (Base & { kind: 'STOPSIGNAL'; signal: string })
  | (Base & { kind: 'ONBUILD'; trigger: string; inner: Instruction })
  | (Base & { kind: 'MAINTAINER'; name: string });

export type InstructionKind = Instruction['kind'];

export interface Stage {
  /** Index in the Dockerfile (0-based). */
  index: number;
  name?: string;
  from: Extract<Instruction, { kind: 'FROM' }>;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Record<string, string>;
  escape: string;
  /** ARGs declared before the first FROM (usable in FROM lines). */
  globalArgs: Extract<Instruction, { kind: 'ARG' }>[];
  stages: Stage[];
}
