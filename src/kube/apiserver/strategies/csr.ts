// CertificateSigningRequest (upstream's certificates strategy): the server, not the client, says
// who asked — spec.username, uid, groups and extra come from the authenticated user — and a new
// request starts without conditions or a certificate.
import type { KubeObject } from '../../api/index.js';
import type { Strategy } from '../pipeline/strategy.js';

export const csrStrategy: Strategy = {
  prepareForCreate(obj: KubeObject, w) {
    const o = obj as KubeObject & { spec?: Record<string, unknown>; status?: unknown };
    const spec = (o.spec ??= {});
    const user = w.r.user;
    delete spec.username;
    delete spec.uid;
    delete spec.groups;
    delete spec.extra;
    if (user) {
      spec.username = user.username;
      if (user.uid) spec.uid = user.uid;
      spec.groups = [...user.groups];
      if (user.extra && Object.keys(user.extra).length) spec.extra = structuredClone(user.extra);
    }
    o.status = {};
  },
};
