# The Swift launcher of support/swift.ts: one python process (its own process group) that prepares
# Swift once and forks the four servers. argv: swift-dir parent-pid. Prints
# `SWIFT_PORTS account=N container=N object=N proxy=N` on stdout.
#
# Written against OpenStack Swift 2.30.1 (Debian 12's swift and python3-swift, 2.30.1-0+deb12u3)
# under Debian's /usr/bin/python3 (3.11). It reaches into Swift's internals (utils.set_swift_dir,
# ThreadSafeSysLogHandler, RingBuilder, wsgi.run_wsgi, get_socket, clean_up_daemon_hygiene), which
# other Swift versions may name or use differently: check it against a new version before use.
# test/unit/swift-launcher.test.ts compiles it; every test that starts Swift runs it.
#
#  - PR_SET_PDEATHSIG everywhere: the launcher dies with the node process that spawned it (even on
#    SIGKILL of node), the servers die with the launcher.
#  - set_swift_dir + reloads: swift.conf (hash suffix, policies, constraints) from the temp dir,
#    never /etc/swift/swift.conf.
#  - syslog handler replaced by a no-op: logs go only to stderr (`verbose` console handler).
#  - a no-op `swift.cache` (filter `cache`) instead of memcached: tempauth refuses to run without
#    one; caching nothing also means no stale account/container info.
#  - the three one-device rings are built with RingBuilder, the same create/add/rebalance calls
#    `swift-ring-builder` makes (nine CLI runs would cost ~9 s).
#  - the four listening sockets are bound here (port 0) before fork and handed to run_wsgi in place
#    of its own get_socket(conf): no window in which another process can take a picked port, and
#    requests that arrive while a server is still loading wait in its backlog.
#  - swift imported once, then fork(): each server costs ~0.3 s CPU instead of ~1.5 s.
#  - run_wsgi's daemon hygiene (setsid) disabled so the servers stay in our process group.
#  - workers = 0 in the confs: each server serves in the forked process itself (no more forks).
#  - when one server exits, the launcher kills the others and exits 1 (its stderr says which).

import ctypes, logging, os, signal, sys, time, traceback, types
swift_dir, parent = sys.argv[1], int(sys.argv[2])
NAMES = ('account', 'container', 'object', 'proxy')
libc = ctypes.CDLL(None, use_errno=True)
def die_with(expected_parent):
    try:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != expected_parent:
        os._exit(1)
die_with(parent)

# Monkey-patch once, first thing, with swift.common.utils.eventlet_monkey_patch's arguments (run_wsgi
# repeats the call, a no-op then): done later in each server it walks every object on the heap
# (eventlet's _green_existing_locks), seconds with all of swift loaded. The poll hub (Swift's
# choice) keeps no kernel state that the forked servers could end up sharing.
import eventlet, eventlet.hubs, eventlet.patcher, select
eventlet.hubs.use_hub('poll' if hasattr(select, 'poll') else 'selects')
eventlet.patcher.monkey_patch(all=False, socket=True, select=True, thread=True)
import swift.common.utils as utils
class _NoSyslog(logging.Handler):
    def __init__(self, *args, **kwargs):
        logging.Handler.__init__(self)
    def emit(self, record):
        pass
utils.ThreadSafeSysLogHandler = _NoSyslog
class _NoCache(object):
    def get(self, key, raise_on_error=False):
        return None
    def set(self, key, value, serialize=True, time=0, min_compress_len=0, raise_on_error=False):
        pass
    def incr(self, key, delta=1, time=0):
        return delta
    def decr(self, key, delta=1, time=0):
        return 0
    def delete(self, key, server_key=None):
        pass
    def set_multi(self, mapping, server_key, serialize=True, time=0, min_compress_len=0):
        pass
    def get_multi(self, keys, server_key):
        return [None for _ in keys]
def _cache_filter_factory(global_conf, **local_conf):
    cache = _NoCache()
    def middleware(app):
        def call(env, start_response):
            env['swift.cache'] = cache
            return app(env, start_response)
        return call
    return middleware
_module = types.ModuleType('swift_s3_test_nocache')
_module.filter_factory = _cache_filter_factory
sys.modules['swift_s3_test_nocache'] = _module

utils.set_swift_dir(swift_dir)
from swift.common import constraints, storage_policy
storage_policy.reload_storage_policies()
constraints.reload_constraints()

# The listening sockets, bound here on port 0 (kernel-chosen, free, never shared: eventlet.listen
# would set SO_REUSEPORT on a fixed port, letting a second instance silently bind the same one).
import eventlet.convenience
socks = {}
for name in NAMES:
    socks[name] = eventlet.convenience.listen(('127.0.0.1', 0), backlog=4096, reuse_port=False)
ports = dict((name, sock.getsockname()[1]) for name, sock in socks.items())

from swift.common.ring import RingBuilder
for name in ('account', 'container', 'object'):
    port = ports[name]
    builder = RingBuilder(6, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port,
                     'device': 'd1', 'weight': 100, 'meta': ''})
    builder.rebalance()
    builder.save(os.path.join(swift_dir, name + '.builder'))
    builder.get_ring().save(os.path.join(swift_dir, name + '.ring.gz'))

import swift.common.wsgi as wsgi
def _hygiene():
    os.umask(0o22)
wsgi.clean_up_daemon_hygiene = _hygiene
utils.clean_up_daemon_hygiene = _hygiene
for module in ('swift.account.server', 'swift.container.server', 'swift.obj.server', 'swift.proxy.server',
               'swift.common.middleware.s3api.s3api', 'swift.common.middleware.tempauth',
               'swift.common.middleware.proxy_logging', 'swift.common.middleware.slo',
               'swift.common.middleware.dlo', 'swift.common.middleware.copy',
               'swift.common.middleware.versioned_writes', 'swift.common.middleware.listing_formats',
               'swift.common.middleware.gatekeeper', 'swift.common.middleware.catch_errors'):
    try:
        __import__(module)
    except Exception:
        pass  # the server that needs it reports the error itself

sys.stdout.write('SWIFT_PORTS %s\n' % ' '.join('%s=%d' % (name, ports[name]) for name in NAMES))
sys.stdout.flush()

launcher = os.getpid()
servers = {}

def reap(pids, grace):
    # SIGTERM, wait up to grace seconds, SIGKILL the rest; always reaped (no zombies left to init)
    pids = set(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + grace
    while pids and time.time() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)
        else:
            pids.discard(pid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass

def on_signal(signum, frame):
    reap(list(servers), 2.0)
    os._exit(0)

for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(signum, on_signal)

for name in NAMES:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            die_with(launcher)
            for other, sock in socks.items():
                if other != name:
                    sock.close()
            wsgi.get_socket = lambda conf, sock=socks[name]: sock
            code = wsgi.run_wsgi(os.path.join(swift_dir, name + '-server.conf'), name + '-server', verbose=True)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
            if not isinstance(e.code, int) and e.code is not None:
                sys.__stderr__.write('%s-server: %s\n' % (name, e.code))
        except BaseException:
            sys.__stderr__.write('%s-server: %s' % (name, traceback.format_exc()))
        finally:
            try:
                sys.__stderr__.flush()
            finally:
                os._exit(code or 0)
    servers[pid] = name
for sock in socks.values():
    sock.close()  # the servers hold their own: a dead server's port then refuses connections

pid, status = os.wait()
sys.stderr.write('swift-launcher: %s-server exited (wait status %d); stopping the others\n'
                 % (servers.pop(pid, '?'), status))
sys.stderr.flush()
reap(list(servers), 0.5)
sys.exit(1)
