"""Server CPU time per request of two builds, alternating, on one site.

The server's own CPU time (from /proc/<pid>/stat) per ArticlePage (slugs
uniform over 1,000 articles) and per HomePage, with the response cache off
so every request executes; the load client's CPU does not count, so this
holds up on a busy two-core machine where req/s swings.

    BENCH_DIR=/tmp/benchdir cargo bench --bench load   # makes the site once
    python3 benches/cpu_per_request.py A=/tmp/base-target/release/newsroom \
        B=target/release/newsroom 5

`BENCH_DATABASE_URL` names another site (default: the file above); on
PostgreSQL the CPU time of every `postgres` process on this machine is
reported beside the server's (the database's share of a page);
`BENCH_RESPONSE_CACHE_MB` turns the response cache on (default 0: off);
`BENCH_READ_CACHE_MB=0` turns the read cache off (cold pages);
`BENCH_OPS=ArticlePage` measures only the operations named;
`BENCH_PAGES` (1000) is how many articles the pages are drawn from (1: one
hot article);
`BENCH_DATABASE_URL_A` (or `_B`, by the build's name) gives one build a
copy of the site of its own, for a build whose migrations differ;
`BENCH_REQUESTS` (4000 ArticlePages, half as many HomePages) are measured
after `BENCH_WARM` (800) unmeasured ones.
"""
import http.client, json, os, random, re, subprocess, sys, threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDS = dict(arg.split("=", 1) for arg in sys.argv[1:] if "=" in arg)
ROUNDS = next((int(arg) for arg in sys.argv[1:] if arg.isdigit()), 3)
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "4000"))
WARM = int(os.environ.get("BENCH_WARM", "800"))
PAGES = int(os.environ.get("BENCH_PAGES", "1000"))
DB = os.environ.get("BENCH_DATABASE_URL", "sqlite:///tmp/benchdir/bench.db")
ARTICLE = open(os.path.join(ROOT, "tests/contract/article-page.graphql")).read()
HOME = open(os.path.join(ROOT, "tests/contract/home.graphql")).read()

def start(name, binary):
    env = dict(os.environ, DATABASE_URL=os.environ.get(f"BENCH_DATABASE_URL_{name}", DB), NEWSROOM_LISTEN="127.0.0.1:0", NEWSROOM_NO_DEMO="true",
               NEWSROOM_LOG="warn,newsroom=info", NEWSROOM_RESPONSE_CACHE_MB=os.environ.get("BENCH_RESPONSE_CACHE_MB", "0"),
               NEWSROOM_MAX_CONCURRENT_REQUESTS="4096")
    if "BENCH_READ_CACHE_MB" in os.environ:
        env["NEWSROOM_READ_CACHE_MB"] = os.environ["BENCH_READ_CACHE_MB"]
    p = subprocess.Popen([binary], env=env, stderr=subprocess.PIPE, text=True)
    rebuilding = False
    for line in p.stderr:
        rebuilding |= "rebuilding it while serving" in line
        m = re.search(r"GraphiQL at http://(\S+)", line)
        if m:
            # A site indexed for search by another build is indexed again in
            # the background: measured meanwhile, the build would pay for it.
            if rebuilding:
                for line in p.stderr:
                    if "the search index is rebuilt" in line:
                        break
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            host = m.group(1).split("/")[0]
            return p, host
    raise SystemExit("no url")

def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def database_cpu():
    """CPU seconds of every PostgreSQL process (0 on SQLite, whose work is
    the server's own)."""
    urls = [DB] + [os.environ.get(f"BENCH_DATABASE_URL_{name}", "") for name in BUILDS]
    if not any(url.startswith("postgres") for url in urls):
        return 0.0
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/comm").read().strip() in ("postgres", "postmaster"):
                total += cpu(pid)
        except OSError:
            pass
    return total

def body(op, i):
    if op == "HomePage":
        return json.dumps({"query": HOME, "operationName": "HomePage", "variables": {}})
    return json.dumps({"query": ARTICLE, "operationName": "ArticlePage",
                       "variables": {"slug": f"article-{i}"}})

def drive(host, op, count, threads=8):
    def worker(n, seed):
        rnd = random.Random(seed)
        c = http.client.HTTPConnection(host)
        for _ in range(n):
            c.request("POST", "/graphql", body(op, rnd.randrange(PAGES)), {"content-type": "application/json"})
            r = c.getresponse(); data = r.read()
            assert r.status == 200 and b'"errors"' not in data, data[:300]
    ts = [threading.Thread(target=worker, args=(count // threads, k)) for k in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]

OPS = [op for op in ("ArticlePage", "HomePage")
       if op in os.environ.get("BENCH_OPS", "ArticlePage,HomePage").split(",")]
results = {}
for rnd in range(ROUNDS):
    for name in BUILDS:
        p, host = start(name, BUILDS[name])
        for op, n in (("ArticlePage", REQUESTS), ("HomePage", REQUESTS // 2)):
            if op not in OPS:
                continue
            drive(host, op, WARM)
            before, before_db = cpu(p.pid), database_cpu()
            drive(host, op, n)
            per = (cpu(p.pid) - before) / n * 1e6
            per_db = (database_cpu() - before_db) / n * 1e6
            results.setdefault((name, op), []).append(per)
            results.setdefault((name, op, "db"), []).append(per_db)
            print(f"round {rnd+1} {name} {op}: {per:.0f} µs server + {per_db:.0f} µs database CPU per request", flush=True)
        p.terminate(); p.wait()
for op in OPS:
    for name in BUILDS:
        for part in ("server", "db"):
            v = sorted(results[(name, op) if part == "server" else (name, op, "db")])
            print(f"{op} {name} {part}: median {v[len(v)//2]:.0f} µs (runs {', '.join(f'{x:.0f}' for x in v)})")
