// /plugins: the engine runs no managed plugins (its volume and log drivers are built in), so it
// answers as a dockerd with none installed: an empty list (with dockerd's filter checks: capability
// and enabled, enabled only true or false) and 404 `plugin "NAME" not found` for any one plugin.
// Installing one (pull, create, upgrade, push) is refused as not supported rather than accepted.
import { invalidArgument, notFound, notImplemented } from '../../../common/index.js';
import type { Router, ApiRequest } from '../router.js';

const none = (q: ApiRequest): never => {
  throw notFound(`plugin ${JSON.stringify(q.params.name)} not found`, { field: 'name' });
};
const unsupported = (): never => {
  throw notImplemented('managed plugins are not supported by this engine (its drivers are built in)', {
    field: 'plugins',
  });
};

export function register(r: Router): void {
  r.get('/plugins', (q) => {
    const f = q.query.filters();
    for (const [k, v] of Object.entries(f)) {
      if (k !== 'capability' && k !== 'enabled')
        throw invalidArgument(`Invalid filter '${k}'`, { field: `filters.${k}` });
      if (k === 'enabled')
        for (const x of v)
          if (x !== 'true' && x !== 'false')
            throw invalidArgument(`Invalid filter 'enabled=[${v.join(' ')}]'`, { field: 'filters.enabled' });
    }
    return [];
  });
  r.get('/plugins/privileges', unsupported);
  r.post('/plugins/pull', unsupported);
  r.post('/plugins/create', unsupported);
  // names may hold '/' and ':' (vieux/sshfs:latest), as dockerd's {name:.*} routes take them
  r.get('/plugins/:name*/json', none);
  r.delete('/plugins/:name*', none);
  r.post('/plugins/:name*/enable', none);
  r.post('/plugins/:name*/disable', none);
  r.post('/plugins/:name*/set', none);
  r.post('/plugins/:name*/upgrade', none);
  r.post('/plugins/:name*/push', none);
}
