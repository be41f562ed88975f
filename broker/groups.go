package broker

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The group coordinator implements Kafka's classic consumer group protocol (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup) and stores committed offsets. Client-side assignment:
// the broker picks a protocol every member supports, elects a leader, hands the leader every
// member's metadata, and distributes the leader's assignment.

type groupState int

const (
	groupEmpty groupState = iota
	groupPreparingRebalance
	groupCompletingRebalance
	groupStable
)

func (s groupState) String() string {
	return [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable"}[s]
}

const (
	minSessionTimeout = time.Second
	maxSessionTimeout = 30 * time.Minute
)

// coordinator owns every group. One mutex guards all group state: group operations are
// rare next to produce and fetch.
type coordinator struct {
	now     func() time.Time
	logger  *slog.Logger
	offsets *offsetStore

	mu     sync.Mutex
	groups map[string]*group
}

type group struct {
	id           string
	state        groupState
	protocolType string
	protocol     string // chosen for the current generation
	generation   int32
	leader       string
	members      map[string]*member
	order        []string  // member ids in join order, for a stable leader choice
	deadline     time.Time // end of the current PreparingRebalance
}

type member struct {
	id               string
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocols        []kmsg.JoinGroupRequestProtocol
	assignment       []byte
	lastSeen         time.Time
	join             chan *kmsg.JoinGroupResponse // waiting JoinGroup, nil if none
	sync             chan syncReply               // waiting SyncGroup, nil if none
}

type syncReply struct {
	code       int16
	assignment []byte
}

func newCoordinator(offsetsPath string, now func() time.Time, logger *slog.Logger) (*coordinator, error) {
	os, err := openOffsetStore(offsetsPath)
	if err != nil {
		return nil, err
	}
	return &coordinator{now: now, logger: logger, offsets: os, groups: make(map[string]*group)}, nil
}

// run completes rebalances whose deadline passed and expires members that stopped
// heartbeating, until ctx is done.
func (c *coordinator) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.tick()
		}
	}
}

func (c *coordinator) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, g := range c.groups {
		switch g.state {
		case groupPreparingRebalance:
			if !now.Before(g.deadline) {
				c.completeJoin(g, true)
			}
		case groupCompletingRebalance, groupStable:
			for _, id := range append([]string(nil), g.order...) {
				m := g.members[id]
				if m.join == nil && m.sync == nil && now.Sub(m.lastSeen) > m.sessionTimeout {
					c.logger.Info("group member session expired", "group", g.id, "member", id)
					c.removeMember(g, id)
					c.rebalance(g, "member session expired")
				}
			}
		}
	}
}

// removeMember drops a member, answering any request it has waiting.
func (c *coordinator) removeMember(g *group, id string) {
	m := g.members[id]
	if m == nil {
		return
	}
	if m.join != nil {
		m.join <- &kmsg.JoinGroupResponse{ErrorCode: kerr.UnknownMemberID.Code, Generation: -1}
	}
	if m.sync != nil {
		m.sync <- syncReply{code: kerr.UnknownMemberID.Code}
	}
	delete(g.members, id)
	for i, o := range g.order {
		if o == id {
			g.order = append(g.order[:i], g.order[i+1:]...)
			break
		}
	}
	if g.leader == id {
		g.leader = ""
	}
}

// rebalance moves the group to PreparingRebalance (or Empty when no member is left).
func (c *coordinator) rebalance(g *group, why string) {
	if len(g.members) == 0 {
		g.state = groupEmpty
		g.generation++
		g.protocol, g.leader = "", ""
		return
	}
	if g.state != groupPreparingRebalance {
		c.logger.Info("group rebalancing", "group", g.id, "reason", why, "members", len(g.members))
		g.state = groupPreparingRebalance
		var timeout time.Duration
		for _, m := range g.members {
			timeout = max(timeout, m.rebalanceTimeout)
			if m.sync != nil {
				m.sync <- syncReply{code: kerr.RebalanceInProgress.Code}
				m.sync = nil
			}
		}
		g.deadline = c.now().Add(timeout)
	}
	c.completeJoin(g, false)
}

// completeJoin ends PreparingRebalance when every member has rejoined, or, with force (the
// deadline passed), drops the members that did not.
func (c *coordinator) completeJoin(g *group, force bool) {
	for _, id := range append([]string(nil), g.order...) {
		if g.members[id].join == nil {
			if !force {
				return
			}
			c.logger.Info("group member missed the rebalance", "group", g.id, "member", id)
			c.removeMember(g, id)
		}
	}
	if len(g.members) == 0 {
		c.rebalance(g, "no members")
		return
	}
	g.generation++
	g.protocol = c.chooseProtocol(g)
	if g.leader == "" {
		g.leader = g.order[0]
	}
	g.state = groupCompletingRebalance
	var all []kmsg.JoinGroupResponseMember
	for _, id := range g.order {
		m := g.members[id]
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = id
		for _, p := range m.protocols {
			if p.Name == g.protocol {
				jm.ProtocolMetadata = p.Metadata
			}
		}
		all = append(all, jm)
	}
	now := c.now()
	for _, id := range g.order {
		m := g.members[id]
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Generation = g.generation
		resp.ProtocolType = kmsg.StringPtr(g.protocolType)
		resp.Protocol = kmsg.StringPtr(g.protocol)
		resp.LeaderID = g.leader
		resp.MemberID = id
		if id == g.leader {
			resp.Members = all
		}
		m.join <- resp
		m.join = nil
		m.lastSeen = now
	}
	c.logger.Info("group generation complete", "group", g.id, "generation", g.generation, "protocol", g.protocol, "members", len(g.members), "leader", g.leader)
}

// chooseProtocol picks, in the leader's order of preference, the first protocol that every
// member supports. Joins are refused when no common protocol exists, so one always does.
func (c *coordinator) chooseProtocol(g *group) string {
	first := g.members[g.order[0]]
	if g.leader != "" {
		first = g.members[g.leader]
	}
	for _, p := range first.protocols {
		if g.allSupport(p.Name) {
			return p.Name
		}
	}
	return first.protocols[0].Name
}

func (g *group) allSupport(name string) bool {
	for _, m := range g.members {
		found := false
		for _, p := range m.protocols {
			if p.Name == name {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// join handles JoinGroup; it blocks until the rebalance completes or ctx is done.
func (c *coordinator) join(ctx context.Context, req *kmsg.JoinGroupRequest, clientID, host string) *kmsg.JoinGroupResponse {
	fail := func(code int16) *kmsg.JoinGroupResponse {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.ErrorCode = code
		resp.Generation = -1
		resp.MemberID = req.MemberID
		return resp
	}
	if req.Group == "" {
		return fail(kerr.InvalidGroupID.Code)
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	if session < minSessionTimeout || session > maxSessionTimeout {
		return fail(kerr.InvalidSessionTimeout.Code)
	}
	rebalanceTimeout := session
	if req.Version >= 1 && req.RebalanceTimeoutMillis > 0 {
		rebalanceTimeout = time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	}
	if req.ProtocolType == "" || len(req.Protocols) == 0 {
		return fail(kerr.InconsistentGroupProtocol.Code)
	}

	c.mu.Lock()
	g := c.groups[req.Group]
	if g == nil {
		if req.MemberID != "" {
			c.mu.Unlock()
			return fail(kerr.UnknownMemberID.Code)
		}
		g = &group{id: req.Group, members: make(map[string]*member)}
		c.groups[req.Group] = g
	}
	if len(g.members) > 0 {
		if g.protocolType != req.ProtocolType {
			c.mu.Unlock()
			return fail(kerr.InconsistentGroupProtocol.Code)
		}
		common := false
		for _, p := range req.Protocols {
			if g.allSupport(p.Name) {
				common = true
				break
			}
		}
		if !common && !(len(g.members) == 1 && g.members[req.MemberID] != nil) {
			c.mu.Unlock()
			return fail(kerr.InconsistentGroupProtocol.Code)
		}
	}
	m := g.members[req.MemberID]
	if m == nil {
		if req.MemberID != "" {
			c.mu.Unlock()
			return fail(kerr.UnknownMemberID.Code)
		}
		var id [16]byte
		if err := randomID(id[:]); err != nil {
			c.mu.Unlock()
			return fail(kerr.UnknownServerError.Code)
		}
		m = &member{id: clientID + "-" + hex.EncodeToString(id[:])}
		g.members[m.id] = m
		g.order = append(g.order, m.id)
	}
	if m.join != nil {
		// A retried join replaces the earlier one, whose connection is gone or gave up.
		m.join <- &kmsg.JoinGroupResponse{ErrorCode: kerr.RebalanceInProgress.Code, Generation: -1, MemberID: m.id}
	}
	g.protocolType = req.ProtocolType
	m.clientID, m.clientHost = clientID, host
	m.sessionTimeout, m.rebalanceTimeout = session, rebalanceTimeout
	// The request's byte slices point into the connection's read buffer, which the next
	// request overwrites: the group keeps its own copies.
	m.protocols = make([]kmsg.JoinGroupRequestProtocol, len(req.Protocols))
	for i, p := range req.Protocols {
		p.Metadata = bytes.Clone(p.Metadata)
		m.protocols[i] = p
	}
	m.lastSeen = c.now()
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	m.join = ch
	c.rebalance(g, "member joined: "+m.id)
	c.mu.Unlock()

	select {
	case resp := <-ch:
		return resp
	case <-ctx.Done():
		return fail(kerr.RebalanceInProgress.Code)
	}
}

// sync handles SyncGroup; followers block until the leader's assignment arrives.
func (c *coordinator) sync(ctx context.Context, req *kmsg.SyncGroupRequest) syncReply {
	c.mu.Lock()
	g := c.groups[req.Group]
	var m *member
	if g != nil {
		m = g.members[req.MemberID]
	}
	switch {
	case m == nil:
		c.mu.Unlock()
		return syncReply{code: kerr.UnknownMemberID.Code}
	case req.Generation != g.generation:
		c.mu.Unlock()
		return syncReply{code: kerr.IllegalGeneration.Code}
	case g.state == groupPreparingRebalance:
		c.mu.Unlock()
		return syncReply{code: kerr.RebalanceInProgress.Code}
	case g.state == groupStable:
		m.lastSeen = c.now()
		c.mu.Unlock()
		return syncReply{assignment: m.assignment}
	}
	m.lastSeen = c.now()
	if req.MemberID == g.leader {
		for _, o := range g.members {
			o.assignment = nil
		}
		for _, a := range req.GroupAssignment {
			if o := g.members[a.MemberID]; o != nil {
				o.assignment = bytes.Clone(a.MemberAssignment) // owned: see join
			}
		}
		g.state = groupStable
		for _, o := range g.members {
			if o.sync != nil {
				o.sync <- syncReply{assignment: o.assignment}
				o.sync = nil
			}
		}
		c.mu.Unlock()
		return syncReply{assignment: m.assignment}
	}
	ch := make(chan syncReply, 1)
	if m.sync != nil {
		m.sync <- syncReply{code: kerr.RebalanceInProgress.Code}
	}
	m.sync = ch
	c.mu.Unlock()
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return syncReply{code: kerr.RebalanceInProgress.Code}
	}
}

// heartbeat handles Heartbeat.
func (c *coordinator) heartbeat(group, memberID string, generation int32) int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[group]
	if g == nil || g.members[memberID] == nil {
		return kerr.UnknownMemberID.Code
	}
	g.members[memberID].lastSeen = c.now()
	switch {
	case generation != g.generation:
		return kerr.IllegalGeneration.Code
	case g.state == groupPreparingRebalance:
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

// leave handles LeaveGroup for one member.
func (c *coordinator) leave(group, memberID string) int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[group]
	if g == nil || g.members[memberID] == nil {
		return kerr.UnknownMemberID.Code
	}
	c.removeMember(g, memberID)
	c.rebalance(g, "member left: "+memberID)
	return 0
}

// checkCommit decides whether a member may commit offsets for the group now.
func (c *coordinator) checkCommit(group, memberID string, generation int32) int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[group]
	if g == nil || len(g.members) == 0 {
		// An empty group accepts commits from anyone (admin tools, simple consumers).
		if generation >= 0 && memberID != "" {
			return kerr.UnknownMemberID.Code
		}
		return 0
	}
	if generation < 0 && memberID == "" {
		return kerr.UnknownMemberID.Code // a simple commit would race the active members
	}
	m := g.members[memberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case generation != g.generation:
		return kerr.IllegalGeneration.Code
	case g.state == groupCompletingRebalance:
		return kerr.RebalanceInProgress.Code
	}
	m.lastSeen = c.now()
	return 0
}

// GroupInfo describes a group for DescribeGroups, ListGroups and metrics.
type GroupInfo struct {
	ID           string
	State        string
	ProtocolType string
	Protocol     string
	Generation   int32
	Members      []GroupMemberInfo
}

// GroupMemberInfo describes one member of a group.
type GroupMemberInfo struct {
	ID, ClientID, ClientHost string
	Metadata, Assignment     []byte
}

func (c *coordinator) describe(id string) (GroupInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[id]
	if g == nil {
		// A group with committed offsets and no members since the broker started is
		// Empty, as Kafka has it; one with neither does not exist.
		if c.offsets.hasGroup(id) {
			return GroupInfo{ID: id, State: groupEmpty.String(), ProtocolType: "consumer"}, true
		}
		return GroupInfo{}, false
	}
	info := GroupInfo{ID: g.id, State: g.state.String(), ProtocolType: g.protocolType, Protocol: g.protocol, Generation: g.generation}
	if g.state == groupEmpty {
		info.Protocol = ""
	}
	for _, mid := range g.order {
		m := g.members[mid]
		mi := GroupMemberInfo{ID: m.id, ClientID: m.clientID, ClientHost: m.clientHost, Assignment: m.assignment}
		for _, p := range m.protocols {
			if p.Name == g.protocol {
				mi.Metadata = p.Metadata
			}
		}
		info.Members = append(info.Members, mi)
	}
	return info, true
}

// list returns every group known to the coordinator or holding committed offsets.
func (c *coordinator) list() []GroupInfo {
	c.mu.Lock()
	ids := make(map[string]bool, len(c.groups))
	for id := range c.groups {
		ids[id] = true
	}
	c.mu.Unlock()
	for _, id := range c.offsets.groups() {
		ids[id] = true
	}
	var out []GroupInfo
	for id := range ids {
		if info, ok := c.describe(id); ok {
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// committedOffset is one committed position of a group in a partition.
type committedOffset struct {
	Offset      int64  `json:"offset"`
	LeaderEpoch int32  `json:"leader_epoch"`
	Metadata    string `json:"metadata,omitempty"`
}

// offsetStore keeps committed offsets in memory and in a JSON file rewritten atomically on
// every commit, so they survive restarts.
type offsetStore struct {
	path string

	mu      sync.Mutex
	offsets map[string]map[string]map[int32]committedOffset // group → topic → partition
}

func openOffsetStore(path string) (*offsetStore, error) {
	s := &offsetStore{path: path, offsets: make(map[string]map[string]map[int32]committedOffset)}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("broker: read group offsets: %w", err)
	}
	if err := json.Unmarshal(data, &s.offsets); err != nil {
		return nil, fmt.Errorf("broker: decode group offsets %s: %w", path, err)
	}
	return s, nil
}

// commit stores offsets for a group and persists them before returning.
func (s *offsetStore) commit(group string, offsets map[string]map[int32]committedOffset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.offsets[group]
	if g == nil {
		g = make(map[string]map[int32]committedOffset)
		s.offsets[group] = g
	}
	for t, ps := range offsets {
		if g[t] == nil {
			g[t] = make(map[int32]committedOffset)
		}
		for p, o := range ps {
			g[t][p] = o
		}
	}
	data, err := json.Marshal(s.offsets)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, data)
}

// fetch returns a copy of a group's committed offsets.
func (s *offsetStore) fetch(group string) map[string]map[int32]committedOffset {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[int32]committedOffset)
	for t, ps := range s.offsets[group] {
		out[t] = make(map[int32]committedOffset, len(ps))
		for p, o := range ps {
			out[t][p] = o
		}
	}
	return out
}

// deleteGroup drops a group's offsets; found reports whether it had any.
func (s *offsetStore) deleteGroup(group string) (found bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, found = s.offsets[group]; !found {
		return false, nil
	}
	delete(s.offsets, group)
	data, err := json.Marshal(s.offsets)
	if err != nil {
		return true, err
	}
	return true, writeFileAtomic(s.path, data)
}

// hasGroup reports whether group has committed offsets.
func (s *offsetStore) hasGroup(group string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.offsets[group]
	return ok
}

func (s *offsetStore) groups() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.offsets {
		ids = append(ids, id)
	}
	return ids
}
