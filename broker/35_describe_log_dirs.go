package broker

import (
	"context"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(35, 0, 4, (*Broker).handleDescribeLogDirs) }

// DescribeLogDirs (key 35), versions 0-4: the one log directory, the broker's data folder,
// with each partition's size in bytes on disk (what Amazon MSK's console and
// kafka-log-dirs.sh show), and from v4 the folder's file system's total and usable bytes.
// No topics (a null list) asks for every partition; a topic or partition the broker does
// not have is left out, as Kafka does.

func (b *Broker) handleDescribeLogDirs(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir, _ = filepath.Abs(b.cfg.DataDir)
	dir.TotalBytes, dir.UsableBytes = -1, -1
	var fs unix.Statfs_t
	if err := unix.Statfs(b.cfg.DataDir, &fs); err == nil {
		dir.TotalBytes = int64(fs.Blocks) * int64(fs.Bsize)
		dir.UsableBytes = int64(fs.Bavail) * int64(fs.Bsize)
	} else {
		dir.ErrorCode = kerr.KafkaStorageError.Code
	}
	addTopic := func(name string, all bool, partitions []int32) {
		t := b.topic(name)
		if t == nil {
			return
		}
		dt := kmsg.NewDescribeLogDirsResponseDirTopic()
		dt.Topic = name
		if all {
			for i := range t.partitions {
				partitions = append(partitions, int32(i))
			}
		}
		for _, p := range partitions {
			if p < 0 || int(p) >= len(t.partitions) {
				continue
			}
			dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			dp.Partition, dp.Size = p, t.partitions[p].size()
			dt.Partitions = append(dt.Partitions, dp)
		}
		if len(dt.Partitions) > 0 {
			dir.Topics = append(dir.Topics, dt)
		}
	}
	if req.Topics == nil {
		b.mu.RLock()
		names := make([]string, 0, len(b.topics))
		for name := range b.topics {
			names = append(names, name)
		}
		b.mu.RUnlock()
		sort.Strings(names)
		for _, name := range names {
			addTopic(name, true, nil)
		}
	} else {
		for _, rt := range req.Topics {
			addTopic(rt.Topic, false, rt.Partitions)
		}
	}
	resp.Dirs = append(resp.Dirs, dir)
	return resp, nil
}
