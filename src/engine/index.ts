// Public face of the engine (dockerd's role): the daemon, its API router and service interfaces.
export {
  startEngine,
  ENGINE_VERSION,
  API_VERSION,
  MIN_API_VERSION,
  type Engine,
  type EngineOptions,
} from './daemon.js';
export { EventBus, type EngineEvent, type EventInput } from './events.js';
export {
  Router,
  Query,
  sendJson,
  sendError,
  jsonStream,
  hijack,
  stdcopyFrame,
  parseFilters,
  matchLabels,
  type ApiRequest,
  type Filters,
  type JsonStream,
} from './api/router.js';
export type {
  EngineContext,
  EngineBase,
  EngineInfo,
  ImagesService,
  VolumesService,
  VolumeInfo,
  ContainersService,
  NetworksService,
  ImageRef,
} from './services/context.js';
export { nullDriver, type NetworkDriver, type NetworkRecord } from './services/networks.js';
