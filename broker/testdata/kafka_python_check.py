"""Produces and consumes with kafka-python against the broker at argv[1]: with the protocol
version it infers from ApiVersions, through a consumer group, and pinned to the versions of
Kafka 0.9 and 0.10 (message sets of magic 0 and 1). Prints one line per check; exits 1 on
the first that fails."""
import sys

from kafka import KafkaConsumer, KafkaProducer

addr = sys.argv[1]


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (": " + detail if detail else ""))
    if not ok:
        sys.exit(1)


for codec in (None, "gzip", "snappy", "lz4"):
    topic = "py-%s" % (codec or "none")
    p = KafkaProducer(bootstrap_servers=addr, acks="all", compression_type=codec)
    check("inferred a Kafka release of 1.0 or later", p.config["api_version"] >= (1, 0), str(p.config["api_version"]))
    for i in range(200):
        p.send(topic, key=b"k%d" % i, value=b"value %d" % i)
    p.flush()
    p.close()
    c = KafkaConsumer(topic, bootstrap_servers=addr, group_id="py-group-" + topic, auto_offset_reset="earliest",
                      consumer_timeout_ms=5000, enable_auto_commit=True)
    got = sorted(m.value for m in c)
    c.close()
    check("group read back %s" % topic, got == sorted(b"value %d" % i for i in range(200)), "%d records" % len(got))

for version in ((0, 9), (0, 10), (0, 10, 2)):
    topic = "py-old-%s" % "-".join(map(str, version))
    p = KafkaProducer(bootstrap_servers=addr, acks="all", api_version=version, compression_type="gzip")
    for i in range(50):
        p.send(topic, value=b"old %d" % i, partition=0)
    p.flush()
    p.close()
    c = KafkaConsumer(topic, bootstrap_servers=addr, api_version=version, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    got = [m.value for m in c]
    c.close()
    check("api_version %s produced and read back in order" % (version,), got == [b"old %d" % i for i in range(50)], "%d records" % len(got))
