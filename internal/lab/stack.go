// Package lab runs Starling as separate processes on this machine, for the benchmarks and
// the fault tests: a local ClickHouse, the built-in broker, and ETL and ingest processes of
// the starling binary, each with its log file; and measures processes (CPU, memory).
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
)

// A Stack is the pipeline as separate processes on this machine: a ClickHouse server
// (chlocal), the built-in broker, and any number of ETL and ingest processes, each a
// `starling` command. starling bench pipeline measures it; the fault tests kill and
// restart its parts. Every process gets its own log file in the stack's folder and dies
// with its parent (Pdeathsig).
type Stack struct {
	exe  string   // the starling binary
	env  []string // extra environment of every process
	dir  string
	logs io.Writer // where a process's log goes too, when set

	ch        *chlocal.Server
	cluster   *chlocal.Cluster // instead of ch, with StartClickHouseCluster
	chTCP     int
	chHTTP    int
	Warehouse warehouse.Config

	BrokerAddr string
	brokerArgs []string
	broker     *Proc

	mu    sync.Mutex
	procs []*Proc // guarded by mu: every process started, for Close
}

// Proc is one process of a Stack.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // its exit, once done
}

// NewStack prepares a stack in dir; exe is the starling binary, env extra environment.
func NewStack(dir, exe string, env []string) (*Stack, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	return &Stack{exe: exe, env: env, dir: dir, BrokerAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, nil
}

// StartClickHouse starts the ClickHouse server, on the ports of its last run if it ran
// before, so that clients reconnect to the same address and find the same data.
func (s *Stack) StartClickHouse(ctx context.Context) error {
	srv, err := chlocal.Start(ctx, chlocal.Config{Dir: filepath.Join(s.dir, "clickhouse"), TCPPort: s.chTCP, HTTPPort: s.chHTTP})
	if err != nil {
		return err
	}
	s.ch = srv
	_, tcp, _ := net.SplitHostPort(srv.Addr())
	_, http, _ := net.SplitHostPort(srv.HTTPAddr())
	s.chTCP, _ = strconv.Atoi(tcp)
	s.chHTTP, _ = strconv.Atoi(http)
	s.Warehouse = warehouse.Config{Addr: []string{srv.Addr()}, Database: "starling"}
	return nil
}

// StartClickHouseCluster starts ZooKeeper and a ClickHouse cluster, "starling", of shards
// × replicas servers instead of one server.
func (s *Stack) StartClickHouseCluster(ctx context.Context, shards, replicas int) error {
	c, err := chlocal.StartCluster(ctx, chlocal.ClusterConfig{Dir: filepath.Join(s.dir, "clickhouse"), Shards: shards, Replicas: replicas})
	if err != nil {
		return err
	}
	s.cluster = c
	s.Warehouse = warehouse.Config{Addr: c.Addrs(), Database: "starling", Cluster: c.Name}
	return nil
}

// StopClickHouse stops the server (SIGTERM, then SIGKILL), or the cluster.
func (s *Stack) StopClickHouse() error {
	if s.cluster != nil {
		err := s.cluster.Close()
		s.cluster = nil
		return err
	}
	if s.ch == nil {
		return nil
	}
	err := s.ch.Close()
	s.ch = nil
	return err
}

// KillClickHouse ends the server with SIGKILL, as a crash would.
func (s *Stack) KillClickHouse() {
	if s.ch != nil {
		s.ch.Kill()
		s.ch = nil
	}
}

// ClickHouseHTTP is the server's HTTP address, "" when it is not running.
func (s *Stack) ClickHouseHTTP() string {
	if s.ch == nil {
		return ""
	}
	return s.ch.HTTPAddr()
}

// ClickHousePID is the server's process id, 0 when it is not running.
func (s *Stack) ClickHousePID() int {
	if s.ch == nil {
		return 0
	}
	return s.ch.PID()
}

// ClickHousePIDs are the process ids of ClickHouse, by service name: the server, or every
// server of the cluster and ZooKeeper.
func (s *Stack) ClickHousePIDs() map[string][]int {
	if s.cluster == nil {
		return map[string][]int{"clickhouse": {s.ClickHousePID()}}
	}
	out := map[string][]int{"zookeeper": {s.cluster.ZooKeeperPID()}}
	for _, shard := range s.cluster.Servers {
		for _, srv := range shard {
			out["clickhouse"] = append(out["clickhouse"], srv.PID())
		}
	}
	return out
}

// StartBroker starts the broker on the stack's fixed address and data folder; extra are
// more flags. A restart reuses the flags of the first start unless new ones are given.
func (s *Stack) StartBroker(extra ...string) (*Proc, error) {
	if len(extra) > 0 || s.brokerArgs == nil {
		s.brokerArgs = append([]string{"broker", "--broker-addr", s.BrokerAddr, "--broker-data-dir", filepath.Join(s.dir, "broker"),
			"--broker-metrics-addr", ""}, extra...)
	}
	p, err := s.start("broker", nil, s.brokerArgs...)
	if err != nil {
		return nil, err
	}
	s.broker = p
	if err := waitTCP(p, s.BrokerAddr, time.Minute); err != nil {
		return nil, err
	}
	return p, nil
}

// Dir is the stack's folder: the data and log of each of its processes.
func (s *Stack) Dir() string { return s.dir }

// Broker is the running broker process.
func (s *Stack) Broker() *Proc { return s.broker }

// StartETL starts an ETL process; extra are more flags.
func (s *Stack) StartETL(name string, extra ...string) (*Proc, error) {
	args := []string{"etl", "--brokers", s.BrokerAddr, "--clickhouse-addr", strings.Join(s.Warehouse.Addr, ","),
		"--clickhouse-database", s.Warehouse.Database, "--metrics-addr", ""}
	if s.Warehouse.Cluster != "" {
		args = append(args, "--clickhouse-cluster", s.Warehouse.Cluster)
	}
	args = append(args, extra...)
	return s.start(name, nil, args...)
}

// StartIngest starts an ingest process; extra are its flags (input, pacing, checkpoint).
func (s *Stack) StartIngest(name string, extra ...string) (*Proc, error) {
	args := append([]string{"ingest", "--brokers", s.BrokerAddr, "--metrics-addr", "", "--no-progress"}, extra...)
	return s.start(name, nil, args...)
}

// start runs the binary with args, its output in <dir>/<name>.log.
func (s *Stack) start(name string, env []string, args ...string) (*Proc, error) {
	logf, err := os.OpenFile(filepath.Join(s.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.exe, args...)
	cmd.Env = append(append(append(os.Environ(), s.env...), env...), "STARLING_LOG_LEVEL=info")
	var out io.Writer = logf
	if s.logs != nil {
		out = io.MultiWriter(logf, s.logs)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// Close stops every process, the last started first, and the ClickHouse server.
func (s *Stack) Close() error {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for _, p := range slices.Backward(procs) { // the broker after its clients
		p.Stop(10 * time.Second)
	}
	return s.StopClickHouse()
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Wait waits up to timeout for the process to end by itself.
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %s", p.Name, timeout)
	}
}

// Kill ends the process with SIGKILL, as a crash would, and reaps it.
func (p *Proc) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the process to end (SIGTERM), and kills it after grace.
func (p *Proc) Stop(grace time.Duration) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// ProcUsage is a process's CPU time so far and resident memory now, from /proc.
func ProcUsage(pid int) (cpu time.Duration, rss int64, err error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields start after it.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 22 {
		return 0, 0, errors.New("unexpected /proc stat format")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	pages, _ := strconv.ParseInt(f[21], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, pages * int64(os.Getpagesize()), nil
}

// ProcsUsage is the CPU time and resident memory of processes together.
func ProcsUsage(pids []int) (cpu time.Duration, rss int64, err error) {
	for _, pid := range pids {
		c, r, err := ProcUsage(pid)
		if err != nil {
			return 0, 0, err
		}
		cpu, rss = cpu+c, rss+r
	}
	return cpu, rss, nil
}

// waitTCP waits until addr accepts connections, or the process dies.
func waitTCP(p *Proc, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if done, err := p.Exited(); done {
			return fmt.Errorf("%s exited before it listened on %s: %v", p.Name, addr, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not listen on %s after %s", p.Name, addr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeLoopbackPort returns a port nothing listens on now.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
