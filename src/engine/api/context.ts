// What route modules see: the services' context (defined by the services, services/context.ts) and
// the shape of a route module.
import type { EngineContext } from '../services/context.js';
import type { Router } from './router.js';

export type * from '../services/context.js';

/** Every route module exports `register(router)`; routes receive the context as their second argument. */
export type RegisterRoutes = (r: Router<EngineContext>) => void;
