package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The Kubernetes manifests (deployments/kubernetes) are checked without a cluster: each
// kustomization is rendered as kubectl apply -k would, every object decoded strictly into
// the Kubernetes API types (an unknown or misspelt field fails), and every image, command,
// flag, variable, port and probe compared with the binary's flags and with
// docker-compose.yml, so that the three cannot drift apart.

// rendered is one kustomization's objects, by kind and name.
type rendered struct {
	statefulSets map[string]*appsv1.StatefulSet
	deployments  map[string]*appsv1.Deployment
	jobs         map[string]*batchv1.Job
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	accounts     map[string]*corev1.ServiceAccount
}

func render(t *testing.T, dir string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	r := &rendered{statefulSets: map[string]*appsv1.StatefulSet{}, deployments: map[string]*appsv1.Deployment{}, jobs: map[string]*batchv1.Job{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, accounts: map[string]*corev1.ServiceAccount{}}
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ APIVersion, Kind string }
		if err := json.Unmarshal(js, &head); err != nil {
			t.Fatal(err)
		}
		strict := func(into any) {
			dec := json.NewDecoder(bytes.NewReader(js))
			dec.DisallowUnknownFields()
			if err := dec.Decode(into); err != nil {
				t.Errorf("%s: %s %s does not decode strictly: %v", dir, head.APIVersion, head.Kind, err)
			}
		}
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 StatefulSet":
			keep(r.statefulSets, strict)
		case "apps/v1 Deployment":
			keep(r.deployments, strict)
		case "batch/v1 Job":
			keep(r.jobs, strict)
		case "v1 Service":
			keep(r.services, strict)
		case "v1 ConfigMap":
			keep(r.configMaps, strict)
		case "v1 Secret":
			keep(r.secrets, strict)
		case "v1 ServiceAccount":
			keep(r.accounts, strict)
		default:
			t.Errorf("%s: unexpected object %s %s", dir, head.APIVersion, head.Kind)
		}
	}
	return r
}

// keep decodes an object of type T and files it by name.
func keep[T any, P interface {
	*T
	GetName() string
}](into map[string]P, decode func(any)) {
	o := P(new(T))
	decode(o)
	into[o.GetName()] = o
}

// workload is a pod template of a StatefulSet, Deployment or Job.
type workload struct {
	kind, name string
	pod        corev1.PodTemplateSpec
}

func (r *rendered) workloads() []workload {
	var out []workload
	for n, o := range r.statefulSets {
		out = append(out, workload{"StatefulSet", n, o.Spec.Template})
	}
	for n, o := range r.deployments {
		out = append(out, workload{"Deployment", n, o.Spec.Template})
	}
	for n, o := range r.jobs {
		out = append(out, workload{"Job", n, o.Spec.Template})
	}
	slices.SortFunc(out, func(a, b workload) int { return strings.Compare(a.name, b.name) })
	return out
}

// env resolves a container's variables: literal values, and values from the rendered
// ConfigMaps and Secrets (which must hold the key).
func (r *rendered) env(t *testing.T, where string, c corev1.Container) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range c.Env {
		if _, dup := out[e.Name]; dup {
			t.Errorf("%s: %s set twice", where, e.Name)
		}
		switch {
		case e.ValueFrom == nil:
			out[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			var data map[string]string
			if cm, ok := r.configMaps[ref.Name]; ok {
				data = cm.Data
			}
			out[e.Name] = refValue(t, where, e.Name, "ConfigMap", ref.Name, ref.Key, data)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			data := map[string]string{}
			if sec, ok := r.secrets[ref.Name]; ok {
				for k, v := range sec.Data {
					data[k] = string(v)
				}
			}
			out[e.Name] = refValue(t, where, e.Name, "Secret", ref.Name, ref.Key, data)
		default:
			t.Errorf("%s: %s has a source the test does not know", where, e.Name)
		}
	}
	if len(c.EnvFrom) > 0 {
		t.Errorf("%s: envFrom hands a container variables that are not its flags; name each", where)
	}
	return out
}

// refValue is key of a ConfigMap's or Secret's data, which must hold it.
func refValue(t *testing.T, where, variable, kind, name, key string, data map[string]string) string {
	t.Helper()
	v, ok := data[key]
	if !ok {
		t.Errorf("%s: %s reads key %s of %s %s, which does not hold it", where, variable, key, kind, name)
	}
	return v
}

// flagsOf are a subcommand's flags (name → environment variable, default), from its
// --help, as a user reads them.
type flagInfo struct{ env, def string }

var helpFlag = regexp.MustCompile(`(?m)^  --([a-z0-9-]+)  \[([A-Z0-9_]+)\]\n      (.*)$`)

func flagsOf(t *testing.T, sub string) map[string]flagInfo {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{sub, "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("starling %s --help: exit %d: %s", sub, code, stderr.String())
	}
	out := map[string]flagInfo{}
	for _, m := range helpFlag.FindAllStringSubmatch(stderr.String(), -1) {
		def := ""
		if i := strings.LastIndex(m[3], " (default "); i >= 0 && strings.HasSuffix(m[3], ")") {
			def = m[3][i+len(" (default ") : len(m[3])-1]
		}
		out[m[1]] = flagInfo{env: m[2], def: def}
	}
	if len(out) == 0 {
		t.Fatalf("starling %s --help lists no flags:\n%s", sub, stderr.String())
	}
	return out
}

// starlingContainer is a workload's one container running the starling image: its
// subcommand, flag arguments and resolved variables, checked against the binary.
type starlingContainer struct {
	sub   string
	args  []string
	env   map[string]string // the STARLING_* variables
	flags map[string]flagInfo
}

func checkStarlingContainer(t *testing.T, r *rendered, w workload, allowedOther func(string) bool) (starlingContainer, bool) {
	t.Helper()
	where := w.kind + " " + w.name
	if len(w.pod.Spec.Containers) != 1 {
		t.Errorf("%s: %d containers, want 1", where, len(w.pod.Spec.Containers))
		return starlingContainer{}, false
	}
	c := w.pod.Spec.Containers[0]
	if !strings.HasPrefix(c.Image, "starling:") {
		return starlingContainer{}, false
	}
	if len(c.Command) > 0 || len(c.Args) == 0 {
		t.Errorf("%s: the image's entrypoint is starling; args must name the service, not %q %q", where, c.Command, c.Args)
		return starlingContainer{}, false
	}
	flags := flagsOf(t, c.Args[0])
	sc := starlingContainer{sub: c.Args[0], args: c.Args[1:], env: map[string]string{}, flags: flags}
	envs := map[string]flagInfo{}
	for name, f := range flags {
		envs[f.env] = flagInfo{env: name, def: f.def}
	}
	for i := 0; i < len(sc.args); i++ {
		a := sc.args[i]
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "--") {
			t.Errorf("%s: argument %q is not a --flag", where, a)
			continue
		}
		if _, ok := flags[name]; !ok {
			t.Errorf("%s: starling %s has no flag --%s", where, sc.sub, name)
			continue
		}
		if !strings.Contains(a, "=") && i+1 < len(sc.args) && !strings.HasPrefix(sc.args[i+1], "--") {
			i++ // its value (a boolean flag is followed by the next flag)
		}
	}
	for k, v := range r.env(t, where, c) {
		if _, ok := envs[k]; ok {
			sc.env[k] = v
		} else if !allowedOther(k) {
			t.Errorf("%s: %s is not a flag of starling %s", where, k, sc.sub)
		}
	}
	// Every port the process listens on is declared, and every probe and port name
	// refers to a declared port.
	declared := map[string]int32{}
	for _, p := range c.Ports {
		declared[p.Name] = p.ContainerPort
	}
	for k, v := range sc.env {
		if strings.HasSuffix(k, "_ADDR") && strings.HasPrefix(v, ":") && !strings.Contains(k, "ADVERTISED") {
			port, _ := strconv.Atoi(v[1:])
			if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return int(p.ContainerPort) == port }) {
				t.Errorf("%s: %s=%s, but port %d is not declared", where, k, v, port)
			}
		}
	}
	for _, p := range c.Ports {
		if !slices.Contains(slices.Collect(maps.Values(sc.env)), ":"+strconv.Itoa(int(p.ContainerPort))) &&
			!defaultListens(flags, sc.env, int(p.ContainerPort)) {
			t.Errorf("%s: port %d is declared, but no address flag listens on it", where, p.ContainerPort)
		}
	}
	for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if pr == nil {
			continue
		}
		var port string
		switch {
		case pr.HTTPGet != nil:
			port = pr.HTTPGet.Port.String()
		case pr.TCPSocket != nil:
			port = pr.TCPSocket.Port.String()
		}
		if _, ok := declared[port]; !ok {
			t.Errorf("%s: a probe uses port %q, which the container does not declare", where, port)
		}
	}
	return sc, true
}

// defaultListens reports whether an address flag left unset listens on port by default.
func defaultListens(flags map[string]flagInfo, env map[string]string, port int) bool {
	for _, f := range flags {
		if _, set := env[f.env]; !set && strings.HasSuffix(f.env, "_ADDR") && f.def == ":"+strconv.Itoa(port) {
			return true
		}
	}
	return false
}

// checkServices: each Service selects a workload's pods and targets ports they declare.
func checkServices(t *testing.T, r *rendered) {
	t.Helper()
	for name, s := range r.services {
		var pod *corev1.PodTemplateSpec
		for _, w := range r.workloads() {
			match := len(s.Spec.Selector) > 0
			for k, v := range s.Spec.Selector {
				match = match && w.pod.Labels[k] == v
			}
			if match {
				pod = &w.pod
			}
		}
		if pod == nil {
			t.Errorf("Service %s selects no workload's pods", name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if !slices.ContainsFunc(pod.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool {
				return cp.Name == p.TargetPort.String() || strconv.Itoa(int(cp.ContainerPort)) == p.TargetPort.String()
			}) {
				t.Errorf("Service %s port %s targets %s, which its pods do not declare", name, p.Name, p.TargetPort.String())
			}
		}
	}
	for _, o := range r.statefulSets {
		if _, ok := r.services[o.Spec.ServiceName]; !ok {
			t.Errorf("StatefulSet %s names Service %s, which is not there", o.Name, o.Spec.ServiceName)
		}
	}
}

// compose is the part of docker-compose.yml the manifests must agree with.
type compose struct {
	Services map[string]struct {
		Image       string            `json:"image"`
		Command     []string          `json:"command"`
		Environment map[string]string `json:"environment"`
		Ports       []string          `json:"ports"`
		Volumes     []string          `json:"volumes"`
	} `json:"services"`
}

var composeDefault = regexp.MustCompile(`\$\{[A-Z0-9_]+:-([^}]*)\}`)

// composeValue is v with each ${VAR:-default} replaced by its default.
func composeValue(v string) string { return composeDefault.ReplaceAllString(v, "$1") }

func TestKubernetesManifests(t *testing.T) {
	base := render(t, "../../deployments/kubernetes/base")
	checkServices(t, base)

	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var dc compose
	if err := yaml.Unmarshal(raw, &dc); err != nil {
		t.Fatal(err)
	}
	// The same services.
	var inCompose, inKube []string
	for n := range dc.Services {
		inCompose = append(inCompose, n)
	}
	for _, w := range base.workloads() {
		inKube = append(inKube, w.name)
	}
	slices.Sort(inCompose)
	if !slices.Equal(inCompose, inKube) {
		t.Errorf("docker compose runs %v, the manifests %v", inCompose, inKube)
	}

	noOther := func(string) bool { return false }
	for _, w := range base.workloads() {
		sc, ok := checkStarlingContainer(t, base, w, noOther)
		svc, inDC := dc.Services[w.name]
		if !ok {
			// ClickHouse: the image compose runs by default, with the same accounts.
			c := w.pod.Spec.Containers[0]
			if want := composeValue(svc.Image); c.Image != want {
				t.Errorf("%s: image %s, docker compose runs %s", w.name, c.Image, want)
			}
			continue
		}
		if !inDC {
			continue
		}
		// The same command.
		var cmd []string
		for _, a := range svc.Command {
			cmd = append(cmd, composeValue(a))
		}
		if got := append([]string{sc.sub}, sc.args...); !slices.Equal(got, cmd) {
			t.Errorf("%s: args %q, docker compose runs %q", w.name, got, cmd)
		}
		// The same settings: what compose sets that is a flag of the service, with the same
		// value; the manifests may spell out a default compose leaves unset.
		defaults := map[string]string{}
		for _, f := range sc.flags {
			defaults[f.env] = f.def
		}
		env := svc.Environment
		if env == nil {
			env = dc.Services["etl"].Environment // the shared block (x-starling)
		}
		for k, v := range env {
			if _, isFlag := defaults[k]; !isFlag {
				continue // compose's shared block hands every service all its variables
			}
			if got, ok := sc.env[k]; !ok || got != composeValue(v) {
				t.Errorf("%s: %s = %q (set: %v), docker compose sets %q", w.name, k, got, ok, composeValue(v))
			}
		}
		for k, v := range sc.env {
			if _, ok := env[k]; !ok && v != defaults[k] {
				t.Errorf("%s: %s = %q, which docker compose leaves at its default %q", w.name, k, v, defaults[k])
			}
		}
		for _, p := range svc.Ports {
			port := p[strings.LastIndex(p, ":")+1:]
			if !slices.ContainsFunc(w.pod.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool { return strconv.Itoa(int(cp.ContainerPort)) == port }) {
				t.Errorf("%s: docker compose publishes port %s, which the manifest does not declare", w.name, port)
			}
		}
	}
	users, err := os.ReadFile("../../deployments/clickhouse/users.d/starling.xml")
	if err != nil {
		t.Fatal(err)
	}
	var cm *corev1.ConfigMap
	for n, c := range base.configMaps {
		if strings.HasPrefix(n, "clickhouse-users-") {
			cm = c
		}
	}
	if cm == nil || cm.Data["starling.xml"] != string(users) {
		t.Error("the ClickHouse accounts of the manifests differ from deployments/clickhouse/users.d/starling.xml (or are missing)")
	}

	t.Run("msk", func(t *testing.T) {
		msk := render(t, "../../deployments/kubernetes/overlays/msk")
		checkServices(t, msk)
		if _, ok := msk.statefulSets["broker"]; ok {
			t.Error("the MSK overlay still runs the built-in broker")
		}
		if _, ok := msk.services["broker"]; ok {
			t.Error("the MSK overlay still has the broker's Service")
		}
		aws := func(k string) bool { return k == "AWS_REGION" }
		clients := 0
		for _, w := range msk.workloads() {
			sc, ok := checkStarlingContainer(t, msk, w, aws)
			if !ok {
				continue
			}
			if _, reads := sc.flags["brokers"]; !reads {
				continue
			}
			clients++
			if b := sc.env["STARLING_BROKERS"]; !strings.Contains(b, ":9098") || strings.Contains(b, "broker:9092") {
				t.Errorf("%s: STARLING_BROKERS = %q, want MSK's IAM listeners (port 9098)", w.name, b)
			}
			if sc.env["STARLING_KAFKA_TLS"] != "true" || sc.env["STARLING_KAFKA_SASL_MECHANISM"] != "AWS_MSK_IAM" {
				t.Errorf("%s: TLS %q, SASL %q: want true and AWS_MSK_IAM", w.name, sc.env["STARLING_KAFKA_TLS"], sc.env["STARLING_KAFKA_SASL_MECHANISM"])
			}
			sa := w.pod.Spec.ServiceAccountName
			if _, ok := msk.accounts[sa]; !ok || sa == "" {
				t.Errorf("%s: service account %q is not in the overlay", w.name, sa)
			} else if msk.accounts[sa].Annotations["eks.amazonaws.com/role-arn"] == "" {
				t.Errorf("service account %s has no IAM role annotation", sa)
			}
		}
		if clients != 3 {
			t.Errorf("%d Kafka clients in the MSK overlay, want 3 (ingest, etl, dashboard)", clients)
		}
	})

	t.Run("clickhouse-cluster", func(t *testing.T) {
		checkClickHouseCluster(t, "../../deployments/kubernetes/overlays/clickhouse-cluster")
	})
}

// clusterXML is the part of ClickHouse's configuration that describes a cluster.
type clusterXML struct {
	RemoteServers struct {
		Clusters []struct {
			XMLName xml.Name
			Shards  []struct {
				InternalReplication bool `xml:"internal_replication"`
				Replicas            []struct {
					Host string `xml:"host"`
					Port int    `xml:"port"`
				} `xml:"replica"`
			} `xml:"shard"`
		} `xml:",any"`
	} `xml:"remote_servers"`
	ZooKeeper []struct {
		Host string `xml:"host"`
		Port int    `xml:"port"`
	} `xml:"zookeeper>node"`
	Macros struct {
		Shard   string `xml:"shard"`
		Replica string `xml:"replica"`
	} `xml:"macros"`
	InterserverHost string `xml:"interserver_http_host"`
}

// checkClickHouseCluster checks the cluster overlay: remote_servers names the
// ClickHouse StatefulSet's pods, shard by shard, through its headless Service; the
// ZooKeeper nodes are the ZooKeeper StatefulSet's pods; each pod's macros, made by its init
// script (run here), put it in the shard remote_servers lists it in; and the services
// that open the warehouse name the cluster and only its servers.
func checkClickHouseCluster(t *testing.T, dir string) {
	r := render(t, dir)
	checkServices(t, r)
	ch, zk := r.statefulSets["clickhouse"], r.statefulSets["zookeeper"]
	if ch == nil || zk == nil {
		t.Fatalf("the overlay runs StatefulSets %v, want clickhouse and zookeeper", slices.Collect(maps.Keys(r.statefulSets)))
	}
	var cm *corev1.ConfigMap
	for n, c := range r.configMaps {
		if strings.HasPrefix(n, "clickhouse-cluster-") {
			cm = c
		}
	}
	if cm == nil {
		t.Fatal("no ConfigMap clickhouse-cluster")
	}
	var conf clusterXML
	for _, f := range []string{"remote_servers.xml", "zookeeper.xml"} {
		if err := xml.Unmarshal([]byte(cm.Data[f]), &conf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if len(conf.RemoteServers.Clusters) != 1 {
		t.Fatalf("remote_servers defines %d clusters, want 1", len(conf.RemoteServers.Clusters))
	}
	cluster := conf.RemoteServers.Clusters[0]
	pod := func(set *appsv1.StatefulSet, i int) string {
		return set.Name + "-" + strconv.Itoa(i) + "." + set.Spec.ServiceName
	}
	if s := r.services[ch.Spec.ServiceName]; s == nil || s.Spec.ClusterIP != "None" {
		t.Errorf("StatefulSet clickhouse's Service %s is not headless: its pods have no names", ch.Spec.ServiceName)
	}
	shardOf := map[string]int{} // pod name → shard, as remote_servers says
	var servers []string
	perShard := len(cluster.Shards[0].Replicas)
	for s, shard := range cluster.Shards {
		if !shard.InternalReplication {
			t.Errorf("shard %d: internal_replication is off: a Distributed INSERT would write every replica itself", s+1)
		}
		if len(shard.Replicas) != perShard {
			t.Errorf("shard %d has %d replicas, shard 1 %d", s+1, len(shard.Replicas), perShard)
		}
		for i, rep := range shard.Replicas {
			want := pod(ch, len(servers))
			if rep.Host != want || rep.Port != 9000 {
				t.Errorf("shard %d replica %d is %s:%d, want %s:9000 (the StatefulSet's pods in order)", s+1, i+1, rep.Host, rep.Port, want)
			}
			shardOf[ch.Name+"-"+strconv.Itoa(len(servers))] = s + 1
			servers = append(servers, net.JoinHostPort(rep.Host, strconv.Itoa(rep.Port)))
		}
	}
	if int(*ch.Spec.Replicas) != len(servers) {
		t.Errorf("StatefulSet clickhouse runs %d pods, remote_servers lists %d", *ch.Spec.Replicas, len(servers))
	}
	if int(*zk.Spec.Replicas) != len(conf.ZooKeeper) {
		t.Errorf("ZooKeeper runs %d servers, ClickHouse knows %d", *zk.Spec.Replicas, len(conf.ZooKeeper))
	}
	for i, n := range conf.ZooKeeper {
		if n.Host != pod(zk, i) || n.Port != 2181 {
			t.Errorf("ZooKeeper node %d is %s:%d, want %s:2181", i+1, n.Host, n.Port, pod(zk, i))
		}
	}

	// The init container's script, run for every pod.
	init := ch.Spec.Template.Spec.InitContainers
	if len(init) != 1 || len(init[0].Args) != 1 {
		t.Fatalf("StatefulSet clickhouse: want one init container with a script, have %+v", init)
	}
	for p := range len(servers) {
		name := ch.Name + "-" + strconv.Itoa(p)
		out := t.TempDir()
		cmd := exec.Command(init[0].Command[0], append(init[0].Command[1:], init[0].Args[0])...)
		cmd.Env = []string{"HOSTNAME=" + name, "PATH=" + os.Getenv("PATH")}
		for _, e := range init[0].Env {
			if e.Name == "CONFIG_D" {
				e.Value = out
			}
			cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
		}
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the macros script for %s: %v: %s", name, err, msg)
		}
		raw, err := os.ReadFile(filepath.Join(out, "macros.xml"))
		if err != nil {
			t.Fatal(err)
		}
		var m clusterXML
		if err := xml.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s's macros.xml: %v\n%s", name, err, raw)
		}
		if m.Macros.Shard != strconv.Itoa(shardOf[name]) || m.Macros.Replica != name || m.InterserverHost != name+"."+ch.Spec.ServiceName {
			t.Errorf("%s: macros shard %q replica %q, interserver host %q; remote_servers puts it in shard %d", name, m.Macros.Shard, m.Macros.Replica, m.InterserverHost, shardOf[name])
		}
	}

	openers := 0
	for _, w := range r.workloads() {
		sc, ok := checkStarlingContainer(t, r, w, func(string) bool { return false })
		if !ok {
			continue
		}
		if _, opens := sc.flags["clickhouse-cluster"]; !opens {
			continue
		}
		openers++
		if got := sc.env["STARLING_CLICKHOUSE_CLUSTER"]; got != cluster.XMLName.Local {
			t.Errorf("%s: STARLING_CLICKHOUSE_CLUSTER = %q, remote_servers defines %q", w.name, got, cluster.XMLName.Local)
		}
		for _, a := range strings.Split(sc.env["STARLING_CLICKHOUSE_ADDR"], ",") {
			if !slices.Contains(servers, a) {
				t.Errorf("%s: ClickHouse address %s is not a server of the cluster %v", w.name, a, servers)
			}
		}
	}
	if openers != 3 {
		t.Errorf("%d services open the warehouse in the cluster overlay, want 3 (migrate, etl, dashboard)", openers)
	}
}
