// Maps errors from the etcd3 client (gRPC status + etcd's message) to the Store's error set.
import { SkiffError, internal, invalidArgument, unavailable } from '../../../common/index.js';
import { compacted, futureRevision } from '../errors.js';

export function mapEtcdError(e: unknown, ctx: { revision?: number } = {}): SkiffError {
  if (e instanceof SkiffError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const name = e instanceof Error ? e.constructor.name : '';
  if (/required revision has been compacted/.test(msg)) {
    const err = compacted(ctx.revision ?? 0, 0);
    return new SkiffError(err.code, `etcd: ${msg}${ctx.revision ? ` (revision ${ctx.revision})` : ''}`, {
      reason: err.reason,
      field: err.field,
      cause: e,
    });
  }
  if (/required revision is a future revision/.test(msg)) {
    const err = futureRevision(ctx.revision ?? 0, 0);
    return new SkiffError(err.code, `etcd: ${msg}${ctx.revision ? ` (revision ${ctx.revision})` : ''}`, {
      reason: err.reason,
      field: err.field,
      cause: e,
    });
  }
  if (/request is too large|message larger than max/i.test(msg))
    return invalidArgument(`etcd: ${msg}`, { field: 'value', cause: e, reason: 'TooLarge' });
  if (
    /Unavailable|DeadlineExceeded|Cancelled|ClientClosed|BrokenCircuit|circuit/i.test(name) ||
    /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|No connection established|connection pool|CANCELLED|leader changed|no leader|timed out/i.test(
      msg,
    )
  ) {
    return unavailable(`etcd unavailable: ${msg}`, { cause: e, reason: 'EtcdUnavailable' });
  }
  return internal(`etcd: ${msg}`, { cause: e });
}
