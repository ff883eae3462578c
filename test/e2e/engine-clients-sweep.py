# The calls docker-py users make most, run against one daemon (DOCKER_HOST); prints one JSON line
# per case: {"case": NAME, "ok": VIEW} or {"case": NAME, "err": [CLASS, STATUS, EXPLANATION]}. VIEW is
# what the client gives its user, reduced to what two daemons must agree on (ids, times and
# addresses are masked by the caller). engine-clients.slow.test.ts runs it on dockerd and on skiff
# and compares case by case. PREFIX names everything it makes; SUBNET is this side's network.
import io
import json
import os
import sys
import tarfile
import time
import traceback

import docker

P = os.environ.get('PREFIX', 'cs')
SUBNET = os.environ['SUBNET']  # e.g. 10.231.7.0/24, different per side (both share the host)
SUBNET2 = os.environ['SUBNET2']
ONLY = set(filter(None, os.environ.get('ONLY', '').split(',')))
# The API version both daemons speak (dockerd 20.10's): docker-py pinned to it, as many users pin.
c = docker.from_env(timeout=120, version=os.environ.get('API', '1.41'))
api = c.api
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def err_view(e):
    if isinstance(e, docker.errors.ContainerError):
        return ['ContainerError', e.exit_status, (e.stderr or b'').decode(errors='replace')]
    if isinstance(e, docker.errors.ImageNotFound):
        return ['ImageNotFound', e.status_code, e.explanation]
    if isinstance(e, docker.errors.NotFound):
        return ['NotFound', e.status_code, e.explanation]
    if isinstance(e, docker.errors.APIError):
        return ['APIError', e.status_code, e.explanation]
    if isinstance(e, docker.errors.BuildError):
        return ['BuildError', None, e.msg]
    return [type(e).__name__, None, str(e)]


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1600000000
            t.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def wait_for(pred, what, tries=300):
    for _ in range(tries):
        if pred():
            return
        time.sleep(0.1)
    raise TimeoutError(what)


def keys(d):
    return sorted(d.keys()) if isinstance(d, dict) else type(d).__name__


# ---- containers.run ----
@case
def run_output_remove():
    return c.containers.run('busybox', ['sh', '-c', 'echo out; echo err >&2'], remove=True).decode()


@case
def run_output_stderr():
    return c.containers.run('busybox', ['sh', '-c', 'echo out; echo err >&2'], remove=True, stdout=False, stderr=True).decode()


@case
def run_nonzero_exit():
    c.containers.run('busybox', ['sh', '-c', 'echo bad >&2; exit 3'], remove=True)


@case
def run_missing_image():
    c.containers.run('nosuchimage-%s:v1' % P, 'true', remove=True)


@case
def run_detach_env_wd_user():
    ct = c.containers.run('busybox', ['sh', '-c', 'echo $FOO $BAR; pwd; id -u; sleep 60'], detach=True,
                          name=P + '-env', environment={'FOO': 'foo', 'BAR': 'b a r'}, working_dir='/tmp/wd',
                          user='1000:1000', labels={'l': 'v'})
    wait_for(lambda: len(ct.logs().splitlines()) >= 3, 'logs')
    ct.reload()
    a = ct.attrs
    return {'name': ct.name, 'status': ct.status, 'logs': ct.logs().decode(), 'labels': ct.labels,
            'env': [e for e in a['Config']['Env'] if e.startswith(('FOO', 'BAR'))],
            'wd': a['Config']['WorkingDir'], 'user': a['Config']['User'], 'image': ct.image.tags,
            'short_id': len(ct.short_id)}


@case
def run_ports():
    ct = c.containers.run('busybox', ['sleep', '60'], detach=True, name=P + '-ports',
                          ports={'80/tcp': ('127.0.0.1', None), '53/udp': None, '8080': 0})
    ct.reload()
    ports = ct.ports
    return {'keys': sorted(ports), 'shape': {k: [sorted(b) for b in v] if v else v for k, v in ports.items()},
            'bindings': ct.attrs['HostConfig']['PortBindings'],
            'exposed': sorted(ct.attrs['Config']['ExposedPorts'])}


@case
def run_tty_stdin():
    ct = c.containers.run('busybox', 'sh', detach=True, name=P + '-tty', stdin_open=True, tty=True)
    ct.reload()
    cfg = ct.attrs['Config']
    r = ct.exec_run('tty', tty=True)
    return {k: cfg[k] for k in ('Tty', 'OpenStdin', 'StdinOnce', 'AttachStdin', 'AttachStdout', 'AttachStderr')} | {
        'status': ct.status, 'exec_tty': [r.exit_code, r.output.decode().strip().startswith('/dev/pts/')]}


@case
def run_healthcheck():
    ct = c.containers.run('busybox', ['sleep', '60'], detach=True, name=P + '-health',
                          healthcheck={'test': ['CMD-SHELL', 'test -e /tmp'], 'interval': 200_000_000,
                                       'timeout': 1_000_000_000, 'retries': 2, 'start_period': 0})

    def healthy():
        ct.reload()
        return ct.attrs['State'].get('Health', {}).get('Status') == 'healthy'
    wait_for(healthy, 'healthy')
    h = ct.attrs['State']['Health']
    return {'cfg': ct.attrs['Config']['Healthcheck'], 'status': h['Status'], 'streak': h['FailingStreak'],
            'log0': keys(h['Log'][0]), 'exit0': h['Log'][0]['ExitCode'], 'health': ct.health}


@case
def run_restart_mem_cpu():
    ct = c.containers.run('busybox', ['sleep', '60'], detach=True, name=P + '-res',
                          restart_policy={'Name': 'on-failure', 'MaximumRetryCount': 2},
                          mem_limit='64m', nano_cpus=500_000_000, memswap_limit=-1, pids_limit=50,
                          cpu_shares=512, shm_size='32m', oom_kill_disable=False)
    ct.reload()
    h = ct.attrs['HostConfig']
    return {k: h[k] for k in ('RestartPolicy', 'Memory', 'NanoCpus', 'MemorySwap', 'PidsLimit', 'CpuShares', 'ShmSize')} | {
        'cgroup_mem': ct.exec_run(['sh', '-c', 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes']).output.decode().strip()}


@case
def run_restart_and_remove_conflict():
    c.containers.run('busybox', 'true', remove=True, restart_policy={'Name': 'always'})


@case
def run_network_volumes():
    net = c.networks.create(P + '-rn', driver='bridge',
                            ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)]))
    host = '/tmp/%s-bind-%s' % (P, os.getpid())
    os.makedirs(host, exist_ok=True)
    with open(host + '/f', 'w') as f:
        f.write('bound\n')
    ct = c.containers.run('busybox', ['sh', '-c', 'cat /b/f; echo v > /data/v; sleep 60'], detach=True,
                          name=P + '-nv', network=net.name,
                          volumes={P + '-vol': {'bind': '/data', 'mode': 'rw'}, host: {'bind': '/b', 'mode': 'ro'}})
    wait_for(lambda: b'bound' in ct.logs(), 'logs')
    ct.reload()
    mounts = sorted(({k: m.get(k) for k in ('Type', 'Name', 'Destination', 'Mode', 'RW', 'Propagation', 'Driver')}
                     for m in ct.attrs['Mounts']), key=lambda m: m['Destination'])
    nets = ct.attrs['NetworkSettings']['Networks']
    n = nets[net.name]
    return {'mounts': mounts, 'nets': sorted(nets), 'aliases': n.get('Aliases'), 'dns': n.get('DNSNames'),
            'ip_in_subnet': n['IPAddress'].rsplit('.', 1)[0] == SUBNET.rsplit('.', 1)[0],
            'binds': ct.attrs['HostConfig']['Binds'] and sorted(b.replace(host, '<HOST>') for b in ct.attrs['HostConfig']['Binds']),
            'netmode': ct.attrs['HostConfig']['NetworkMode']}


# ---- get / list ----
@case
def get_missing():
    c.containers.get(P + '-nosuch')


@case
def list_filters():
    c.containers.run('busybox', 'true', name=P + '-exited', labels={'sweep': P})
    c.containers.create('busybox', 'true', name=P + '-created', labels={'sweep': P, 'k': 'x'})
    f = lambda **kw: sorted(x.name for x in c.containers.list(all=True, filters=kw) if x.name.startswith(P))
    return {'exited': f(status='exited'), 'created': f(status='created'), 'label': f(label='sweep=' + P),
            'label_k': f(label=['sweep', 'k=x']), 'name': f(name=P + '-exi'), 'ancestor': len(f(ancestor='busybox')) > 2,
            'running': sorted(x.name for x in c.containers.list() if x.name.startswith(P + '-env')),
            'limit': len(c.containers.list(all=True, limit=1)), 'sparse': c.containers.list(all=True, sparse=True, filters={'name': P + '-created'})[0].name}


@case
def list_bad_filter():
    c.containers.list(filters={'nosuchkey': 'x'})


# ---- logs ----
@case
def logs_variants():
    # stderr first, then a pause: the order of two pipes' lines is a race otherwise, on both sides
    ct = c.containers.run('busybox', ['sh', '-c', 'echo e1 >&2; sleep 0.5; for i in 1 2 3 4 5; do echo line$i; done'],
                          detach=True, name=P + '-logs')
    ct.wait()
    t_all = ct.logs(timestamps=True).decode().splitlines()
    return {'all': ct.logs().decode(), 'tail2': ct.logs(tail=2).decode(), 'tail0': ct.logs(tail=0).decode(),
            'stdout_only': ct.logs(stderr=False).decode(),
            'stream': b''.join(ct.logs(stream=True)).decode(),
            'stream_follow': b''.join(ct.logs(stream=True, follow=True)).decode(),
            'ts': [l.split(' ', 1)[1] for l in t_all], 'ts_fmt': all(l[4] == '-' and l.split(' ')[0].endswith('Z') for l in t_all),
            'since_future': ct.logs(since=int(time.time()) + 100).decode(),
            'until_past': ct.logs(until=1).decode()}


# ---- wait ----
@case
def wait_conditions():
    ct = c.containers.create('busybox', ['sh', '-c', 'exit 7'], name=P + '-wait')
    ct.start()
    r1 = ct.wait(condition='not-running')
    ct2 = c.containers.run('busybox', ['sh', '-c', 'sleep 0.5; exit 5'], detach=True, name=P + '-wait2', auto_remove=True)
    r2 = ct2.wait(condition='removed')
    return {'not_running': r1, 'removed': r2}


@case
def wait_bad_condition():
    ct = c.containers.create('busybox', 'true', name=P + '-waitbad')
    ct.wait(condition='bogus')


# ---- exec ----
@case
def exec_variants():
    ct = c.containers.run('busybox', ['sleep', '60'], detach=True, name=P + '-exec')
    r = ct.exec_run(['sh', '-c', 'echo o; echo e >&2; exit 3'], demux=True)
    s = ct.exec_run(['sh', '-c', 'echo a; echo b'], stream=True)
    chunks = b''.join(s.output)
    sd = ct.exec_run(['sh', '-c', 'echo so; echo se >&2'], stream=True, demux=True)
    pairs = list(sd.output)
    w = ct.exec_run(['sh', '-c', 'pwd; echo $X'], workdir='/etc', environment={'X': 'x1'}, user='nobody')
    missing = ct.exec_run(['nosuchcmd'])
    return {'demux': [r.exit_code, r.output[0], r.output[1]], 'stream': [s.exit_code, chunks],
            'demux_stream': sorted((o or b'', e or b'') for o, e in pairs),
            'wd_env': [w.exit_code, w.output.decode()], 'missing': [missing.exit_code, missing.output.decode()]}


@case
def exec_stopped():
    ct = c.containers.create('busybox', 'true', name=P + '-exstop')
    ct.exec_run('true')


# ---- archive ----
@case
def archive_put_get():
    ct = c.containers.run('busybox', ['sleep', '60'], detach=True, name=P + '-arch')
    ok = ct.put_archive('/tmp', tar_of({'a/b.txt': b'hello', 'c.txt': b'c'}))
    bits, stat = ct.get_archive('/tmp/a')
    data = b''.join(bits)
    t = tarfile.open(fileobj=io.BytesIO(data))
    return {'put': ok, 'stat': {k: stat[k] for k in ('name', 'size', 'mode', 'linkTarget')},
            'members': sorted((m.name, m.size, m.isdir()) for m in t.getmembers())}


@case
def archive_get_missing():
    ct = c.containers.create('busybox', 'true', name=P + '-archm')
    ct.get_archive('/nonexistent')


@case
def archive_put_missing_dir():
    ct = c.containers.create('busybox', 'true', name=P + '-archp')
    ct.put_archive('/nonexistent/dir', tar_of({'x': b'x'}))


# ---- stats / top / diff / commit / export ----
@case
def stats_top_diff():
    ct = c.containers.run('busybox', ['sh', '-c', 'touch /newfile; rm -rf /home; sleep 60'], detach=True, name=P + '-std')
    wait_for(lambda: ct.exec_run(['test', '-e', '/newfile']).exit_code == 0, 'file')
    s = ct.stats(stream=False)
    top = ct.top()
    top_aux = ct.top(ps_args='-o pid,comm')
    return {'stats_keys': keys(s), 'mem_keys': keys(s['memory_stats']), 'cpu_keys': keys(s['cpu_stats']),
            'name': s['name'], 'precpu': keys(s['precpu_stats']),
            'top_titles': top['Titles'], 'top_cmds': sorted(p[-1] for p in top['Processes']),
            'top_aux': [top_aux['Titles'], sorted(p[-1] for p in top_aux['Processes'])],
            'diff': sorted((d['Kind'], d['Path']) for d in ct.diff())}


@case
def stats_stopped():
    ct = c.containers.create('busybox', 'true', name=P + '-ststop')
    s = ct.stats(stream=False)
    return {'keys': keys(s), 'mem': s['memory_stats'], 'pids': s['pids_stats'], 'read': s['read']}


@case
def top_stopped():
    ct = c.containers.create('busybox', 'true', name=P + '-topstop')
    ct.top()


@case
def commit_export():
    ct = c.containers.run('busybox', ['sh', '-c', 'echo x > /committed'], detach=True, name=P + '-commit')
    ct.wait()
    img = ct.commit(repository=P + '-committed', tag='v1', message='msg', author='me',
                    changes=['ENV C=1', 'LABEL lc=1', 'CMD ["cat", "/committed"]'], conf={'Labels': {'lb': '2'}})
    out = c.containers.run(img.id, remove=True).decode()
    ex = b''.join(ct.export())
    names = set(tarfile.open(fileobj=io.BytesIO(ex)).getnames())
    return {'tags': img.tags, 'labels': img.labels, 'cmd': img.attrs['Config']['Cmd'], 'env': img.attrs['Config']['Env'],
            'author': img.attrs['Author'], 'comment': img.attrs['Comment'], 'run': out,
            'export_has': sorted(n for n in ('committed', 'bin/busybox', 'etc/passwd', '.dockerenv', 'etc/hostname') if n in names)}


# ---- images ----
DOCKERFILE = b'''FROM busybox AS base
ARG A=defa
RUN echo "a=$A" > /a
LABEL stage=base
FROM base AS final
RUN echo final > /f
CMD ["cat", "/a"]
'''


@case
def image_build():
    ctx = tar_of({'Dockerfile': DOCKERFILE})
    img, logs = c.images.build(fileobj=ctx, custom_context=True, tag=P + '-built:v1', buildargs={'A': 'given'},
                               target='base', labels={'bl': '1'}, rm=True, forcerm=True, pull=False)
    lg = list(logs)
    out = c.containers.run(img.id, ['cat', '/a'], remove=True).decode()
    ctx2 = tar_of({'Dockerfile': DOCKERFILE})
    img2, _ = c.images.build(fileobj=ctx2, custom_context=True, tag=P + '-built:v2', platform='linux/amd64', pull=False)
    return {'tags': img.tags, 'labels': img.labels, 'run': out, 'log_keys': sorted({k for x in lg for k in x}),
            'last_stream': [x for x in lg if 'stream' in x][-1]['stream'].startswith('Successfully tagged'),
            'aux': [x['aux'].keys() and sorted(x['aux']) for x in lg if 'aux' in x],
            'v2_cmd': img2.attrs['Config']['Cmd']}


@case
def image_build_error():
    ctx = tar_of({'Dockerfile': b'FROM busybox\nRUN exit 3\n'})
    c.images.build(fileobj=ctx, custom_context=True, pull=False, rm=True)


@case
def image_build_bad_target():
    ctx = tar_of({'Dockerfile': DOCKERFILE})
    c.images.build(fileobj=ctx, custom_context=True, target='nosuch', pull=False)


@case
def image_ops():
    img = c.images.get('busybox')
    ok = img.tag(P + '-tagged', 'v1')
    t = c.images.get(P + '-tagged:v1')
    data = b''.join(t.save(named=True))
    names = set(tarfile.open(fileobj=io.BytesIO(data)).getnames())
    c.images.remove(P + '-tagged:v1')
    loaded = c.images.load(data)
    lst = sorted(tag for i in c.images.list(name=P + '-tagged') for tag in i.tags)
    return {'tag': ok, 'has_manifest': 'manifest.json' in names, 'loaded': [i.tags for i in loaded], 'list': lst,
            'list_filter': sorted(tag for i in c.images.list(filters={'reference': P + '-tag*'}) for tag in i.tags),
            'history0': keys(img.history()[0]), 'short': len(img.short_id)}


@case
def image_get_missing():
    c.images.get('nosuch-%s:v9' % P)


@case
def image_remove_in_use():
    img = c.images.get('busybox')
    img.tag(P + '-inuse', 'v1')
    c.containers.create(P + '-inuse:v1', 'true', name=P + '-inuse-c')
    c.images.remove(img.id)


@case
def image_prune():
    r = c.images.prune(filters={'dangling': True})
    return {'keys': keys(r), 'deleted_type': type(r.get('ImagesDeleted')).__name__}


@case
def image_push_pull():
    # REGISTRY: a local distribution (loopback: plain HTTP on both daemons); REPO differs per side
    reg, repo = os.environ.get('REGISTRY'), os.environ.get('REPO')
    if not reg:
        return 'no registry'
    name = '%s/%s' % (reg, repo)
    c.images.get('busybox').tag(name, 'v1')
    msgs = list(c.images.push(name, tag='v1', stream=True, decode=True))
    statuses = sorted({m.get('status', '').split(' ')[0] for m in msgs if 'status' in m and 'id' not in m})
    aux = [sorted(m['aux']) for m in msgs if 'aux' in m]
    errors = [m for m in msgs if 'error' in m]
    c.images.remove(name + ':v1')
    pulled = c.images.pull(name, tag='v1')
    dist = api.inspect_distribution(name + ':v1')
    missing = None
    try:
        c.images.pull(name, tag='nosuchtag')
    except docker.errors.APIError as e:
        missing = err_view(e)
    return {'statuses': statuses, 'aux': aux, 'errors': errors, 'pulled': pulled.tags,
            'repo_digests': [d.split('@')[0] for d in pulled.attrs['RepoDigests']],
            'dist_keys': keys(dist), 'dist_desc': keys(dist['Descriptor']), 'dist_mt': dist['Descriptor']['mediaType'],
            'missing': missing}


# ---- networks ----
@case
def network_ops():
    net = c.networks.create(P + '-net', driver='bridge', internal=True, labels={'nl': '1'}, attachable=True,
                            ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET2)]))
    ct = c.containers.run('busybox', ['sleep', '60'], detach=True, name=P + '-netc')
    net.connect(ct, aliases=['al1', 'al2'])
    ct.reload()
    ep = ct.attrs['NetworkSettings']['Networks'][net.name]
    net.reload()
    a = net.attrs
    conns = [x.name for x in net.containers]
    net.disconnect(ct)
    ct.reload()
    return {'internal': a['Internal'], 'labels': a['Labels'], 'driver': a['Driver'], 'scope': a['Scope'],
            'ipam_driver': a['IPAM']['Driver'], 'ipam_cfg': [sorted(x) for x in a['IPAM']['Config']],
            'aliases': ep['Aliases'], 'containers': conns, 'after': sorted(ct.attrs['NetworkSettings']['Networks']),
            'list': [n.name for n in c.networks.list(names=[P + '-net'])],
            'list_label': [n.name for n in c.networks.list(filters={'label': 'nl=1'})]}


@case
def network_overlap():
    c.networks.create(P + '-ovl', driver='bridge',
                      ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)]))


@case
def network_dup_and_missing():
    out = []
    try:
        c.networks.create(P + '-net', driver='bridge')
        out.append('dup ok')
    except docker.errors.APIError as e:
        out.append(err_view(e))
    try:
        c.networks.get(P + '-nonet')
    except docker.errors.NotFound as e:
        out.append(err_view(e))
    try:
        c.networks.get(P + '-net').connect(P + '-nosuchc')
    except docker.errors.APIError as e:
        out.append(err_view(e))
    return out


# ---- volumes ----
@case
def volume_ops():
    v = c.volumes.create(P + '-v1', driver='local', driver_opts={'type': 'tmpfs', 'device': 'tmpfs', 'o': 'size=1m'},
                         labels={'vl': '1'})
    v2 = c.volumes.create(P + '-v2')
    again = c.volumes.create(P + '-v2')
    a = v.attrs
    got = c.volumes.get(P + '-v1')
    lst = sorted(x.name for x in c.volumes.list(filters={'label': 'vl=1'}))
    r = c.volumes.prune(filters={'label': 'vl=1'})
    return {'driver': a['Driver'], 'opts': a['Options'], 'labels': a['Labels'], 'scope': a['Scope'],
            'keys': keys(a), 'again': again.name == v2.name, 'got': got.name, 'list': lst,
            'prune_keys': keys(r), 'pruned': sorted(r['VolumesDeleted'] or [])}


@case
def volume_missing():
    c.volumes.get(P + '-nosuchvol')


# ---- events / df / info ----
@case
def events_filtered():
    since = int(time.time())
    ct = c.containers.run('busybox', 'true', name=P + '-ev', detach=True)
    ct.wait()
    ct.remove()
    until = int(time.time()) + 1
    evs = list(c.events(since=since, until=until, decode=True, filters={'container': P + '-ev'}))
    raw = list(c.events(since=since, until=until, filters={'type': 'container', 'event': 'destroy'}))
    return {'actions': [e['Action'] for e in evs], 'types': sorted({e['Type'] for e in evs}),
            'keys': keys(evs[0]), 'actor_name': evs[0]['Actor']['Attributes'].get('name'),
            'raw_is_bytes': all(isinstance(x, bytes) for x in raw), 'raw_n': len(raw) >= 1}


@case
def df_keys():
    d = c.df()
    return {'keys': keys(d), 'types': {k: type(v).__name__ for k, v in d.items()},
            'container_keys': keys(d['Containers'][0]) if d['Containers'] else None}


@case
def info_version():
    i = c.info()
    v = c.version()
    return {'info_has': [k for k in ('Containers', 'Images', 'Driver', 'CgroupVersion', 'OperatingSystem', 'Name',
                                     'ServerVersion', 'NCPU', 'MemTotal') if k in i],
            'version_keys': [k for k in ('Version', 'ApiVersion', 'MinAPIVersion', 'Os', 'Arch', 'Components') if k in v],
            'ping': c.ping()}


def cleanup():
    for ct in c.containers.list(all=True, filters={'name': P + '-'}):
        ct.remove(force=True, v=True)
    for n in c.networks.list(names=[P + '-net', P + '-rn']):
        n.remove()
    for v in c.volumes.list():
        if v.name.startswith(P + '-'):
            v.remove(force=True)


def main():
    if sys.argv[1:] == ['cleanup']:
        return cleanup()
    for fn in CASES:
        if ONLY and fn.__name__ not in ONLY:
            continue
        try:
            r = {'case': fn.__name__, 'ok': fn()}
        except Exception as e:  # every failure is part of the comparison
            r = {'case': fn.__name__, 'err': err_view(e)}
            if os.environ.get('SWEEP_DEBUG'):
                traceback.print_exc()
        print(json.dumps(r, default=lambda o: o.decode(errors='replace') if isinstance(o, bytes) else str(o), sort_keys=True), flush=True)


main()
