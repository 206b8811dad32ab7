#!/usr/bin/env python3
"""How tools/vcon-fuzz-night --engine both passes finds between the engines
(docs/overnight.md, "--engine both"), without building or fuzzing anything:
the runner's own functions on folders laid out as a run leaves them, with a
shell script standing in for the libFuzzer build.

- libFuzzer's share (from-afl/): every AFL++ queue entry once, not the hub's;
  an entry that crashes or hangs the libFuzzer build goes to artifacts/ as
  crash-from-afl-* / timeout-from-afl-*, not to from-afl/; entries already
  run are not run again; an input quarantined since is taken out.
- AFL++'s share (afl/hub/): the working corpus and the queues, each input
  once, numbered on without a gap from one call to the next, no input known
  to crash, nothing half-written left, and the folder marked as a main node.
- The engine of a target's next slice, and one engine switched off.

Run: python3 tests/test_fuzz_night_share.py (ctest runs it as fuzz_night_share).
"""

import hashlib
import importlib.machinery
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def load_runner():
    path = os.path.join(ROOT, "tools", "vcon-fuzz-night")
    loader = importlib.machinery.SourceFileLoader("vcon_fuzz_night", path)
    spec = importlib.util.spec_from_loader("vcon_fuzz_night", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def sha1(data):
    return hashlib.sha1(data).hexdigest()


FAILURES = []


def check(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        FAILURES.append(what)


def main():
    night_mod = load_runner()
    scratch = tempfile.mkdtemp(prefix="vcon-fuzz-night-share.")
    # The stand-in libFuzzer build: runs the files it is given in turn,
    # aborts on one holding BAD, hangs on one holding HANG, and logs each
    # file it runs.
    runs_log = os.path.join(scratch, "runs.log")
    fake = os.path.join(scratch, "fuzz_fake")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\n"
                "for a in \"$@\"; do\n"
                "  case \"$a\" in -*) continue;; esac\n"
                "  echo \"$a\" >> '%s'\n"
                "  if grep -q BAD \"$a\"; then kill -ABRT $$; fi\n"
                "  if grep -q HANG \"$a\"; then sleep 60; fi\n"
                "done\n"
                "exit 0\n" % runs_log)
    os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR)

    args = night_mod.parse_args(["--engine", "both", "--seconds", "10", "--timeout", "1"])
    night = night_mod.Night(args)
    t = night_mod.Target("fake")
    t.dir = os.path.join(scratch, "targets", "fake")
    t.work_corpus = os.path.join(t.dir, "corpus")
    t.artifacts = os.path.join(t.dir, "artifacts")
    t.libfuzzer_bin = fake
    for d in (t.work_corpus, t.artifacts):
        os.makedirs(d)
    afl = os.path.join(t.dir, "afl")
    good1, good2, bad, hang = b"good one", b"good two", b"a BAD input", b"a HANG input"
    write(os.path.join(afl, "s0", "queue", "id:000000,orig:x"), good1)
    write(os.path.join(afl, "s0", "queue", "id:000001,src:000000"), good2)
    write(os.path.join(afl, "s0", "queue", "id:000002,src:000001"), bad)
    write(os.path.join(afl, "s1", "queue", "id:000000,orig:x"), good1)  # the same input
    write(os.path.join(afl, "s1", "queue", "id:000001,src:000000"), hang)
    write(os.path.join(afl, "s1", "queue", ".state", "auto_extras", "auto_000000"), b"tok")
    write(os.path.join(afl, "hub", "queue", "id:000099,src:elsewhere"), b"hub only")

    # ---- libFuzzer's share
    start = time.monotonic()
    pool = night.afl_finds_for_libfuzzer(t)
    took = time.monotonic() - start
    names = sorted(os.listdir(pool))
    check(names == sorted([sha1(good1), sha1(good2)]),
          "from-afl/ holds the two good queue entries once each, by SHA-1 (%s)" % names)
    arts = sorted(os.listdir(t.artifacts))
    check(arts == sorted(["crash-from-afl-" + sha1(bad), "timeout-from-afl-" + sha1(hang)]),
          "the input that crashes the libFuzzer build and the one that hangs it are crash "
          "inputs (%s)" % arts)
    check(sha1(bad) in t.crashing and sha1(hang) in t.crashing,
          "both are known to crash from now on")
    check(took < 30, "screening took %.1f s (hangs are cut at --timeout)" % took)

    open(runs_log, "w").close()
    write(os.path.join(afl, "s0", "queue", "id:000003,src:000002"), b"good three")
    night.afl_finds_for_libfuzzer(t)
    with open(runs_log) as f:
        ran = [os.path.basename(line.strip()) for line in f if line.strip()]
    check(ran == [sha1(b"good three")],
          "a second call runs only the entry that is new (%s)" % ran)
    # An input quarantined since (libFuzzer stopped on it) leaves the pool.
    t.crashing.add(sha1(good2))
    night.afl_finds_for_libfuzzer(t)
    check(sha1(good2) not in os.listdir(pool), "an input quarantined since leaves from-afl/")

    # ---- AFL++'s share
    write(os.path.join(t.work_corpus, "c1"), b"corpus one")
    write(os.path.join(t.work_corpus, "c2"), good1)  # also in the queues
    night.fill_afl_hub(t)
    hub = os.path.join(afl, "hub")
    queue = os.path.join(hub, "queue")
    check(os.path.isfile(os.path.join(hub, "is_main_node")), "the hub is marked as a main node")
    entries = sorted(n for n in os.listdir(queue) if n.endswith("src:vcon-fuzz-night"))
    contents = {}
    for n in entries:
        with open(os.path.join(queue, n), "rb") as f:
            contents[n] = f.read()
    exported = [c for n, c in sorted(contents.items())]
    check(sorted(exported) == sorted([b"corpus one", good1, b"good three"]),
          "the hub offers the working corpus and the queues, each input once, none known "
          "to crash (%s)" % exported)
    ids = sorted(int(n[3:9]) for n in entries)
    check(ids == list(range(len(ids))), "its ids run on without a gap (%s)" % ids)
    check(not [n for n in os.listdir(hub) if n not in ("queue", "is_main_node")],
          "nothing half-written is left beside the queue")
    write(os.path.join(t.work_corpus, "c3"), b"corpus three")
    night.fill_afl_hub(t)
    new = sorted(n for n in set(os.listdir(queue)) - set(entries)
                 if n.endswith("src:vcon-fuzz-night"))
    check(len(new) == 1 and int(new[0][3:9]) == len(ids), "a second call adds the new input "
          "under the next id (%s)" % new)

    # ---- the engine of the next slice
    check(night.slice_engine(t) == "libfuzzer", "libFuzzer goes first")
    t.time_by["libfuzzer"] = 30.0
    check(night.slice_engine(t) == "afl", "then the engine with less of the target's time")
    night.disable(t, "afl", "afl-fuzz failed to start")
    check(night.slice_engine(t) == "libfuzzer" and t.disabled is None,
          "an engine switched off leaves the target to the other")
    night.disable(t, "libfuzzer", "no interesting input")
    check(t.disabled is not None, "both switched off stop the target")

    if FAILURES:
        print("test_fuzz_night_share: %d FAILED (the folders are in %s)" % (len(FAILURES), scratch))
        return 1
    shutil.rmtree(scratch)
    print("test_fuzz_night_share: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
