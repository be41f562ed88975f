package broker

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// Sentinel errors of the broker.
var (
	ErrUnknownTopic     = errors.New("unknown topic")
	ErrInvalidTopic     = errors.New("invalid topic name")
	ErrTopicExists      = errors.New("topic already exists")
	ErrDataDirLocked    = errors.New("data directory is in use by another broker")
	ErrInvalidPartition = errors.New("invalid partition count")
)

// Broker is a running single-node Kafka-compatible broker. Create it with New, serve
// connections with Serve, and release its files with Close.
type Broker struct {
	cfg    Config
	logger *slog.Logger
	lock   *os.File // holds the flock on the data directory

	mu     sync.RWMutex
	topics map[string]*topic // guarded by mu; topic contents have their own locks
	// metaMu serialises rewrites of topics.json.
	metaMu sync.Mutex

	groups  *coordinator
	metrics *metrics
	auth    *authenticator // nil when authentication is off

	// nextProducerID hands out idempotent producer ids. It starts from the clock (in units
	// of 1/1024 ms), so ids stay unique across restarts without being stored.
	nextProducerID atomic.Int64

	// Set by Serve before connections are accepted.
	advHost string
	advPort int32

	connsMu sync.Mutex
	conns   map[net.Conn]struct{} // open client connections, closed on shutdown
	perIP   map[string]int        // open connections by remote IP address
	// refusedLogged is when a refused connection was last logged (unix ns), so a flood of
	// them logs once a second.
	refusedLogged atomic.Int64
}

// topic is one topic: its partitions and per-topic settings. A *topic is never changed once
// it is in Broker.topics: changes (configs, partitions) publish a new one, so readers can use
// the one they looked up without locks.
type topic struct {
	name       string
	id         [16]byte
	partitions []*partitionLog
	configs    topicConfigs
}

// topicMeta is the persisted form of a topic in topics.json.
type topicMeta struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	Partitions int               `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
}

// New opens the data directory (creating it if needed), takes its lock, and opens every
// topic's logs, recovering any torn tail left by a crash.
func New(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("broker: create data dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(cfg.DataDir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("broker: open lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("broker: %w: %s (%v)", ErrDataDirLocked, cfg.DataDir, err)
	}
	b := &Broker{
		cfg:    cfg,
		logger: cfg.Logger,
		lock:   lock,
		topics: make(map[string]*topic),
		conns:  make(map[net.Conn]struct{}),
		perIP:  make(map[string]int),
	}
	b.nextProducerID.Store(time.Now().UnixMilli() << 10)
	b.metrics = newMetrics(b)
	if cfg.Users != nil {
		if b.auth, err = newAuthenticator(cfg.Users); err != nil {
			b.Close()
			return nil, err
		}
	}
	if err := b.loadTopics(); err != nil {
		b.Close()
		return nil, err
	}
	b.groups, err = newCoordinator(filepath.Join(cfg.DataDir, "group-offsets.json"), cfg.Now, b.logger)
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Run listens on cfg.Addr and serves until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	b, err := New(cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", b.cfg.Addr)
	if err != nil {
		return fmt.Errorf("broker: listen: %w", err)
	}
	return b.Serve(ctx, ln)
}

// Serve accepts Kafka clients on ln until ctx is done, then closes ln and every client
// connection and returns nil. Background work (flushing, retention, group session
// expiry) runs while it serves.
func (b *Broker) Serve(ctx context.Context, ln net.Listener) error {
	host, port, err := b.advertised(ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	b.advHost, b.advPort = host, port
	if b.cfg.TLS != nil {
		ln = tls.NewListener(ln, b.cfg.TLS)
	}
	b.logger.Info("broker listening", "tls", b.cfg.TLS != nil, "sasl", b.auth != nil, "addr", ln.Addr().String(), "advertised", net.JoinHostPort(host, strconv.Itoa(int(port))), "data_dir", b.cfg.DataDir)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return every(ctx, b.cfg.FlushInterval, b.flush) })
	g.Go(func() error { return every(ctx, b.cfg.RetentionCheckInterval, b.EnforceRetention) })
	g.Go(func() error { b.groups.run(ctx); return nil })
	g.Go(func() error {
		<-ctx.Done()
		ln.Close()
		b.connsMu.Lock()
		for c := range b.conns {
			c.Close()
		}
		b.connsMu.Unlock()
		return nil
	})
	var conns sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			b.logger.Error("accept failed", "err", err)
			break
		}
		ip := remoteIP(c)
		if why := b.admit(c, ip); why != "" {
			c.Close()
			b.metrics.connectionsRefused.Inc()
			if now := time.Now().UnixNano(); now-b.refusedLogged.Load() > int64(time.Second) {
				b.refusedLogged.Store(now)
				b.logger.Warn("connection refused", "client", c.RemoteAddr().String(), "reason", why)
			}
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			b.serveConn(ctx, c)
			b.connsMu.Lock()
			delete(b.conns, c)
			if b.perIP[ip]--; b.perIP[ip] == 0 {
				delete(b.perIP, ip)
			}
			b.connsMu.Unlock()
		}()
	}
	conns.Wait()
	return g.Wait()
}

// admit counts a new connection from ip, or says why it is over a limit.
func (b *Broker) admit(c net.Conn, ip string) string {
	b.connsMu.Lock()
	defer b.connsMu.Unlock()
	switch {
	case len(b.conns) >= b.cfg.MaxConnections:
		return fmt.Sprintf("%d connections are open, the most allowed", len(b.conns))
	case b.perIP[ip] >= b.cfg.MaxConnectionsPerIP:
		return fmt.Sprintf("%d connections are open from %s, the most allowed from one address", b.perIP[ip], ip)
	}
	b.conns[c] = struct{}{}
	b.perIP[ip]++
	return ""
}

// remoteIP is the IP address of a connection's peer, without the port.
func remoteIP(c net.Conn) string {
	addr := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// advertised works out the host and port that clients are told to use.
func (b *Broker) advertised(listen net.Addr) (string, int32, error) {
	addr := b.cfg.AdvertisedAddr
	if addr == "" {
		host, _, _ := net.SplitHostPort(b.cfg.Addr)
		_, port, _ := net.SplitHostPort(listen.String())
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		addr = net.JoinHostPort(host, port)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("broker: advertised address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("broker: advertised port %q: %w", portStr, err)
	}
	return host, int32(port), nil
}

// Close flushes and closes every log and releases the data directory. Call it after Serve
// has returned.
func (b *Broker) Close() error {
	var errs []error
	b.mu.Lock()
	for _, t := range b.topics {
		for _, p := range t.partitions {
			errs = append(errs, p.close())
		}
	}
	b.topics = map[string]*topic{}
	b.mu.Unlock()
	if b.lock != nil {
		errs = append(errs, b.lock.Close())
		b.lock = nil
	}
	return errors.Join(errs...)
}

// every calls fn every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func()) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fn()
		}
	}
}

// flush fsyncs every partition written since the last flush.
func (b *Broker) flush() {
	for _, p := range b.allPartitions() {
		if err := p.flush(); err != nil {
			b.logger.Error("flush failed", "dir", p.dir, "err", err)
		}
	}
}

// EnforceRetention deletes the segments that every topic's retention settings allow to go.
// The broker calls it every RetentionCheckInterval.
func (b *Broker) EnforceRetention() {
	now := b.cfg.Now()
	b.mu.RLock()
	topics := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		topics = append(topics, t)
	}
	b.mu.RUnlock()
	for _, t := range topics {
		for i, p := range t.partitions {
			n, err := p.enforceRetention(now, t.configs.retention, t.configs.retentionBytes)
			if err != nil {
				b.logger.Error("retention failed", "topic", t.name, "partition", i, "err", err)
			}
			if n > 0 {
				start, _ := p.offsets()
				b.logger.Info("retention deleted segments", "topic", t.name, "partition", i, "segments", n, "log_start", start)
			}
		}
	}
}

func (b *Broker) allPartitions() []*partitionLog {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var ps []*partitionLog
	for _, t := range b.topics {
		ps = append(ps, t.partitions...)
	}
	return ps
}

// topic returns the named topic or nil.
func (b *Broker) topic(name string) *topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.topics[name]
}

// partition returns the log of one partition or nil.
func (b *Broker) partition(name string, p int32) *partitionLog {
	t := b.topic(name)
	if t == nil || p < 0 || int(p) >= len(t.partitions) {
		return nil
	}
	return t.partitions[p]
}

// validTopicName applies Kafka's rules: 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..".
func validTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return fmt.Errorf("%w: %q", ErrInvalidTopic, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q", ErrInvalidTopic, name)
		}
	}
	return nil
}

// CreateTopic creates a topic with the given partition count (0 = the default) and configs.
func (b *Broker) CreateTopic(name string, partitions int32, configs map[string]*string) error {
	_, err := b.createTopic(name, partitions, configs, false)
	return err
}

// createTopic creates the topic, or with orExisting returns the existing one.
func (b *Broker) createTopic(name string, partitions int32, configs map[string]*string, orExisting bool) (*topic, error) {
	if err := validTopicName(name); err != nil {
		return nil, err
	}
	if partitions <= 0 {
		partitions = b.cfg.DefaultPartitions
	}
	if partitions > 10000 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidPartition, partitions)
	}
	tc, err := b.defaultTopicConfigs().with(configs)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.topics[name]; ok {
		if orExisting {
			return t, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	t := &topic{name: name, configs: tc}
	if err := randomID(t.id[:]); err != nil {
		return nil, err
	}
	for i := range partitions {
		p, err := openPartitionLog(b.partitionDir(name, i), b.logger)
		if err != nil {
			for _, p := range t.partitions {
				p.close()
			}
			return nil, fmt.Errorf("create topic %s: %w", name, err)
		}
		t.partitions = append(t.partitions, p)
	}
	b.topics[name] = t
	if err := b.saveTopicsLocked(); err != nil {
		return nil, err
	}
	b.logger.Info("topic created", "topic", name, "partitions", partitions)
	return t, nil
}

// replaceTopic publishes a changed copy of a topic, made by edit under the broker's lock,
// and persists the topic list.
func (b *Broker) replaceTopic(name string, edit func(t *topic) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	old, ok := b.topics[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	t := *old
	t.partitions = append([]*partitionLog(nil), old.partitions...)
	if err := edit(&t); err != nil {
		return err
	}
	b.topics[name] = &t
	return b.saveTopicsLocked()
}

// DeleteTopic removes a topic and its data.
func (b *Broker) DeleteTopic(name string) error {
	b.mu.Lock()
	t, ok := b.topics[name]
	if !ok {
		b.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	delete(b.topics, name)
	err := b.saveTopicsLocked()
	b.mu.Unlock()
	for i, p := range t.partitions {
		p.close()
		os.RemoveAll(b.partitionDir(name, int32(i)))
	}
	b.logger.Info("topic deleted", "topic", name)
	return err
}

func (b *Broker) partitionDir(topic string, p int32) string {
	return filepath.Join(b.cfg.DataDir, "topics", topic+"-"+strconv.Itoa(int(p)))
}

func (b *Broker) topicsFile() string { return filepath.Join(b.cfg.DataDir, "topics.json") }

// saveTopicsLocked persists the topic list; caller holds mu.
func (b *Broker) saveTopicsLocked() error {
	metas := make([]topicMeta, 0, len(b.topics))
	for _, t := range b.topics {
		metas = append(metas, topicMeta{Name: t.name, ID: hex.EncodeToString(t.id[:]), Partitions: len(t.partitions), Configs: t.configs.overrides()})
	}
	data, err := json.MarshalIndent(metas, "", "  ")
	if err != nil {
		return err
	}
	b.metaMu.Lock()
	defer b.metaMu.Unlock()
	return writeFileAtomic(b.topicsFile(), data)
}

func (b *Broker) loadTopics() error {
	data, err := os.ReadFile(b.topicsFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("broker: read topics: %w", err)
	}
	var metas []topicMeta
	if err := json.Unmarshal(data, &metas); err != nil {
		return fmt.Errorf("broker: decode %s: %w", b.topicsFile(), err)
	}
	for _, m := range metas {
		cfgs := make(map[string]*string, len(m.Configs))
		for k, v := range m.Configs {
			cfgs[k] = &v
		}
		tc, err := b.defaultTopicConfigs().with(cfgs)
		if err != nil {
			return fmt.Errorf("broker: topic %s: %w", m.Name, err)
		}
		t := &topic{name: m.Name, configs: tc}
		if _, err := hex.Decode(t.id[:], []byte(m.ID)); err != nil {
			return fmt.Errorf("broker: topic %s id: %w", m.Name, err)
		}
		for i := range m.Partitions {
			p, err := openPartitionLog(b.partitionDir(m.Name, int32(i)), b.logger)
			if err != nil {
				return fmt.Errorf("broker: open %s-%d: %w", m.Name, i, err)
			}
			t.partitions = append(t.partitions, p)
		}
		b.topics[m.Name] = t
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file, fsync and rename, so a
// crash leaves either the old or the new content.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%w: write %s: %w", ErrStorage, tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%w: sync %s: %w", ErrStorage, tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: close %s: %w", ErrStorage, tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: rename %s: %w", ErrStorage, tmp, err)
	}
	return syncDir(filepath.Dir(path))
}
