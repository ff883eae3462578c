// The Pod table row as kubectl shows it: READY counts, the STATUS reason derived from container
// states (Init:x/y, CrashLoopBackOff, Completed, Terminating, ...), RESTARTS with "(5m ago)".
import { age } from '../../printing/duration.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';

const ts = (v: unknown) => (typeof v === 'string' ? Date.parse(v) || 0 : 0);

export function podStatusCells(pod: Obj, now: Date): { ready: string; reason: string; restarts: string } {
  const spec = asObj(pod.spec) ?? {},
    status = asObj(pod.status) ?? {};
  const inits = new Map<string, Obj>(
    asArr(spec.initContainers)
      .filter(asObj)
      .map((c) => [c.name, c]),
  );
  const sidecar = (name: string) => inits.get(name)?.restartPolicy === 'Always';
  let total = asArr(spec.containers).length + [...inits.values()].filter((c) => c.restartPolicy === 'Always').length;
  let ready = 0,
    restarts = 0,
    sidecarRestarts = 0,
    lastRestart = 0,
    lastSidecarRestart = 0;
  let reason: string = status.reason || status.phase || '';
  for (const c of asArr(status.conditions))
    if (c?.type === 'PodScheduled' && c?.reason === 'SchedulingGated') reason = 'SchedulingGated';

  let initializing = false;
  const initStatuses = asArr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const c = asObj(initStatuses[i]) ?? {};
    restarts += c.restartCount ?? 0;
    const finished = ts(c.lastState?.terminated?.finishedAt);
    if (finished > lastRestart) lastRestart = finished;
    if (sidecar(c.name)) {
      sidecarRestarts += c.restartCount ?? 0;
      if (finished > lastSidecarRestart) lastSidecarRestart = finished;
    }
    const term = asObj(c.state?.terminated),
      wait = asObj(c.state?.waiting);
    if (term && term.exitCode === 0) continue;
    if (sidecar(c.name) && c.started === true) {
      if (c.ready) ready++;
      continue;
    }
    if (term)
      reason = term.reason
        ? `Init:${term.reason}`
        : term.signal
          ? `Init:Signal:${term.signal}`
          : `Init:ExitCode:${term.exitCode}`;
    else if (wait?.reason && wait.reason !== 'PodInitializing') reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${inits.size}`;
    initializing = true;
    break;
  }
  const initialized = asArr(status.conditions).some((c) => c?.type === 'Initialized' && c?.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const cs = asArr(status.containerStatuses);
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = asObj(cs[i]) ?? {};
      restarts += c.restartCount ?? 0;
      const finished = ts(c.lastState?.terminated?.finishedAt);
      if (finished > lastRestart) lastRestart = finished;
      const term = asObj(c.state?.terminated),
        wait = asObj(c.state?.waiting);
      if (wait?.reason) reason = wait.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = asArr(status.conditions).some((c) => c?.type === 'Ready' && c?.status === 'True')
        ? 'Running'
        : 'NotReady';
    }
  }
  const deleting = !!pod.metadata?.deletionTimestamp;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';
  const restartsStr =
    restarts !== 0 && lastRestart
      ? `${restarts} (${age(new Date(lastRestart).toISOString(), now)} ago)`
      : String(restarts);
  if (total < 0) total = 0;
  return { ready: `${ready}/${total}`, reason, restarts: restartsStr };
}

export function podRow(pod: Obj, now: Date): unknown[] {
  const { ready, reason, restarts } = podStatusCells(pod, now);
  const spec = asObj(pod.spec) ?? {},
    status = asObj(pod.status) ?? {};
  const gates = asArr(spec.readinessGates);
  let gatesCell = '<none>';
  if (gates.length) {
    const trueCount = gates.filter((g) =>
      asArr(status.conditions).some((c) => c?.type === g?.conditionType && c?.status === 'True'),
    ).length;
    gatesCell = `${trueCount}/${gates.length}`;
  }
  return [
    pod.metadata?.name,
    ready,
    reason,
    restarts,
    age(pod.metadata?.creationTimestamp, now),
    status.podIP || '<none>',
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    gatesCell,
  ];
}
