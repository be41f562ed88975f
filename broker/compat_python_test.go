package broker_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/starling-analytics/starling/broker/brokertest"
)

// TestKafkaPython runs kafka-python (Debian's python3-kafka, under the system's Python)
// against the broker: it infers the Kafka release from ApiVersions, produces in every
// codec it knows, reads back through a consumer group, and speaks the protocol of Kafka
// 0.9 and 0.10 when pinned to it (testdata/kafka_python_check.py).
func TestKafkaPython(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command("/usr/bin/python3", "-c", "import kafka").CombinedOutput(); err != nil {
		t.Fatalf("kafka-python is not installed (apt-get install python3-kafka): %v: %s", err, out)
	}
	b := brokertest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/kafka_python_check.py", b.Addr).CombinedOutput()
	t.Logf("kafka-python:\n%s", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("kafka-python check failed: %v", err)
	}
}
