// What route modules see (moby's routers over backends): the engine's concrete services, typed, so
// that no route casts. Each route module names the part it depends on (its `Backend`, a Pick of
// ApiContext) and registers on any router whose context provides it. The services' own context and
// interfaces are in services/context.ts (below the HTTP layer).
import type { EngineBase } from '../services/context.js';
import type { Containers } from '../services/containers/service.js';
import type { Execs } from '../services/containers/exec.js';
import type { EngineImages } from '../services/images.js';
import type { EngineVolumes } from '../services/volumes.js';
import type { Networks } from '../services/networks.js';

export type * from '../services/context.js';

export interface ApiContext extends EngineBase {
  containers: Containers;
  execs: Execs;
  images: EngineImages;
  volumes: EngineVolumes;
  networks: Networks;
}
