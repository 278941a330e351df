#!/usr/bin/env python3
"""iamtrim past one machine: the trail's objects read on Spark executors, one recommendation.

    python3 spark/recommend.py --trail URI --out DIR --iamtrim PATH [--partitions N]
        [--master URL] [any `iamtrim recommend` flag: --since, --until, --cluster,
        --iam-snapshot, --pod-identity-associations, --diff, ...]

or the same arguments after `spark-submit spark/recommend.py` on a cluster (EMR, Glue,
Databricks, any Spark 3.5). docs/SCALE.md says how to run it and what it costs.

There is one implementation of iamtrim's work, iamtrim's own:

1. the driver runs `iamtrim list` (the same listing and layout pruning as `recommend`);
2. the listing is cut into partitions, each a run of whole delivery days where the trail has
   CloudTrail's day layout (so copies of an event, delivered the same day, are counted once as on
   one machine);
3. each executor runs `iamtrim extract --join-partition` on its partition with the binary shipped
   by `SparkContext.addFile`: decode, dedup, attribute, map and resources, and the session join
   over the partition, which hands on workload-level activity and only the sessions it could not
   settle (their vending may be in an earlier partition), with its live bindings;
4. the driver streams the partitions' results, in listing order, into
   `iamtrim recommend --partials -`, which completes the join (sessions deferred by one
   partition meet the bindings of earlier ones, at the same watermarks as on one machine; then
   the trust-policy and association fallbacks) and synthesizes: DIR/recommendation.json
   (`iamtrim.recommendation/v1`, byte-identical to `iamtrim recommend --format json` on the same
   objects) and the policy files in DIR. With --partials-out FILE the stream (then one batch
   per object, access keys replaced by a hash keyed with a secret drawn for this run) is kept:
   `iamtrim run --config C --partials FILE` seeds the usage store with it, and the nightly run
   continues from the trail where the backfill ended.

A partition whose extract fails (the process crashes, is killed, cannot run) is not dropped: each
of its objects is reported as unread with the reason, and the exit status is 2. The exit status
is iamtrim's: 0 clean, 1 a finding (drift), 2 incomplete input or an error.
"""
import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

# Flags that are ours, or that this job sets for each step itself.
OWN = ("--trail", "--out", "--format", "--partials")


def parse():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other flags are passed to every iamtrim step, as `iamtrim recommend` takes them.",
    )
    parser.add_argument("--trail", required=True, help="s3://bucket[/prefix] or a local folder")
    parser.add_argument("--out", required=True, help="folder for recommendation.json and policies")
    parser.add_argument("--iamtrim", required=True, help="the iamtrim binary (linux, the executors' architecture)")
    parser.add_argument("--partitions", type=int, default=0,
                        help="partitions of the listing [default: 4 per executor core]")
    parser.add_argument("--task-threads", type=int, default=1,
                        help="iamtrim threads per task (match spark.task.cpus) [default: 1]")
    parser.add_argument("--master", help="Spark master when not run by spark-submit [default: local[*]]")
    parser.add_argument("--partials-out", metavar="FILE",
                        help="also keep the joined stream of batches, to seed a usage store "
                             "(iamtrim run --config ... --partials FILE)")
    args, rest = parser.parse_known_args()
    for flag in rest:
        if flag.split("=")[0] in OWN:
            parser.error(f"{flag} is set by this job")
    return args, rest


def trail_location(trail):
    """Local trails are listed by absolute path, so executors find the files whatever their
    working directory."""
    if "://" in trail or trail.startswith("cloudtrail:"):
        return trail
    return os.path.abspath(trail)


def listing(binary, trail, flags):
    out = subprocess.run(
        [binary, "--quiet", "list", "--trail", trail, *flags],
        stdout=subprocess.PIPE,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(out.returncode)
    return out.stdout.decode().splitlines()


def kind(line):
    try:
        return next(iter(json.loads(line)))
    except (ValueError, StopIteration):
        return None


def partitions(lines, wanted):
    """Runs of lines with about the same number of objects. With watermarks (CloudTrail's day
    layout), a run ends only after a watermark, so a delivery day is never split and copies of
    an event delivered the same day are counted once, as on one machine. Without them (a flat
    folder, whose copies could be anywhere) the listing stays whole: one extract."""
    kinds = [kind(line) for line in lines]
    objects = kinds.count("object")
    days = "watermark" in kinds
    if not days:
        if objects > 1:
            print("note: the trail has no CloudTrail day layout; its objects are read by one "
                  "extract (copies of an event could be in any two of them)", file=sys.stderr)
        return [lines]
    target = max(1, -(-objects // max(1, wanted)))
    chunks, chunk, held = [], [], 0
    for line, k in zip(lines, kinds):
        chunk.append(line)
        held += k == "object"
        if held >= target and k == "watermark":
            chunks.append(chunk)
            chunk, held = [], 0
    if chunk:
        chunks.append(chunk)
    return chunks


def extract_task(binary_name, flags, key, threads, join):
    """What each executor runs on its partitions: iamtrim extract, or, if that fails, the
    partition's objects reported as unread (never dropped)."""

    def run(chunks):
        from pyspark import SparkFiles

        binary = SparkFiles.get(binary_name)
        if not os.access(binary, os.X_OK):
            os.chmod(binary, 0o755)
        for chunk in chunks:
            with tempfile.TemporaryDirectory(prefix="iamtrim-extract-") as tmp:
                listing_path = os.path.join(tmp, "listing.jsonl")
                out_path = os.path.join(tmp, "partials.jsonl")
                with open(listing_path, "w") as f:
                    f.write("\n".join(chunk) + "\n")
                env = dict(os.environ, IAMTRIM_PARTIALS_KEY=key)
                with open(out_path, "wb") as out:
                    try:
                        done = subprocess.run(
                            [binary, "--quiet", "extract", "--partials", listing_path,
                             "--threads", str(threads), *(["--join-partition"] if join else []),
                             *flags],
                            stdout=out, stderr=subprocess.PIPE, env=env, check=False,
                        )
                        code, err = done.returncode, done.stderr.decode(errors="replace")
                    except OSError as e:
                        code, err = None, str(e)
                if code == 0:
                    with open(out_path) as f:
                        for line in f:
                            yield line.rstrip("\n")
                    continue
                last = (err.strip().splitlines() or ["no message"])[-1]
                status = f"exit status {code}" if code is not None else "could not run"
                reason = (f"iamtrim extract failed on executor {socket.gethostname()} "
                          f"({status}): {last}")
                for line in chunk:
                    entry = json.loads(line)
                    if "object" in entry:
                        location = entry["object"]["location"]
                        yield json.dumps({"failed": {"location": location, "reason": reason}})
                    else:
                        yield line

    return run


def main():
    args, flags = parse()
    binary = os.path.abspath(args.iamtrim)
    trail = trail_location(args.trail)
    started = time.monotonic()
    lines = listing(binary, trail, flags)
    listed = time.monotonic()

    from pyspark import StorageLevel
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("iamtrim-recommend")
    if args.master:
        builder = builder.master(args.master)
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Not started by spark-submit (which sets the master): local mode.
        builder = builder.master("local[*]")
    spark = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    sc = spark.sparkContext
    sc.setLogLevel("ERROR")
    sc.addFile(binary)
    wanted = args.partitions or sc.defaultParallelism * 4
    chunks = partitions(lines, wanted)
    key = secrets.token_hex(32)
    batches = sc.parallelize(chunks, max(1, len(chunks))).mapPartitions(
        # Each partition's sessions are joined on its executor (workload-level rows reach the
        # driver); a stream kept to seed a usage store needs every object's batch instead.
        extract_task(os.path.basename(binary), flags, key, args.task_threads,
                     join=not args.partials_out)
    )
    # Every partition is computed at once, in parallel; the driver then reads them back in
    # listing order, one at a time, and streams them to the join.
    batches.persist(StorageLevel.DISK_ONLY)
    batch_lines = batches.count()
    extracted = time.monotonic()

    os.makedirs(args.out, exist_ok=True)
    kept = open(args.partials_out, "wb") if args.partials_out else None
    with open(os.path.join(args.out, "recommendation.json"), "wb") as out:
        join = subprocess.Popen(
            [binary, "recommend", "--partials", "-", "--format", "json", "--out", args.out, *flags],
            stdin=subprocess.PIPE, stdout=out,
        )
        try:
            for line in batches.toLocalIterator():
                data = line.encode() + b"\n"
                if kept:
                    kept.write(data)
                join.stdin.write(data)
        except BrokenPipeError:
            pass
        finally:
            try:
                join.stdin.close()
            except BrokenPipeError:
                pass
        code = join.wait()
    if kept:
        kept.close()
    joined = time.monotonic()
    print(f"iamtrim spark: listed {len(lines)} lines in {listed - started:.1f}s; "
          f"extracted {len(chunks)} partitions ({batch_lines} lines) in {extracted - listed:.1f}s; "
          f"joined on the driver in {joined - extracted:.1f}s", file=sys.stderr)
    batches.unpersist()
    spark.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
