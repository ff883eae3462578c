// `GET /containers/json` and `POST /containers/prune` over the container records: which containers,
// in which order, how many (dockerd's daemon/list.go and prune.go), so that routes only read the
// query and write the answer.
import { invalidArgument } from '../../../common/index.js';
import type { Filters } from '../common/filters.js';
import { parseEventTime } from '../../events.js';
import type { ContainerRecord } from './record.js';
import { listFilter } from './view.js';

export interface ListOptions {
  /** `all`: stopped containers too (else only running ones, unless a filter or limit asks for more). */
  all: boolean;
  /** `limit` (> 0: the newest N, stopped ones included); -1 or 0: no limit. */
  limit: number;
  filters: Filters;
}

/** The containers a list shows, newest first. */
export function listContainers(records: ContainerRecord[], o: ListOptions): ContainerRecord[] {
  const f = o.filters;
  let list = records.filter(listFilter(f, records, () => undefined));
  if (!o.all && o.limit <= 0 && !f.status?.length && !f.since && !f.before) list = list.filter((c) => c.State.Running);
  list.sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
  return o.limit > 0 ? list.slice(0, o.limit) : list;
}

/** The containers a prune removes: not running or restarting, created before `until`, with the
 *  `label` filters and without the `label!` ones. */
export function pruneCandidates(records: ContainerRecord[], f: Filters): ContainerRecord[] {
  const until = f.until?.length ? parseEventTime(f.until[0]) : undefined;
  if (f.until?.length && until === undefined)
    throw invalidArgument(`Invalid filter 'until=${f.until[0]}'`, { field: 'filters.until' });
  const label = f.label;
  const notLabel = f['label!'] ?? [];
  const byLabel = (l: string[]) => listFilter({ label: l }, [], () => undefined);
  return records.filter(
    (c) =>
      !c.State.Running &&
      !c.State.Restarting &&
      !(until !== undefined && Date.parse(c.Created) / 1000 > until) &&
      !(label && !byLabel(label)(c)) &&
      !notLabel.some((l) => byLabel([l])(c)),
  );
}
