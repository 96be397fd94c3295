// SPDX-License-Identifier: BSD-3-Clause

// Command redigo_failover is the Go peer of failover_bench -m leased: a
// redigo redis.Pool (Debian's golang-github-gomodule-redigo-dev) that finds
// the master through github.com/FZambia/sentinel (golang-github-fzambia-
// sentinel-dev) the way that library's README shows, under steady write load
// through a SENTINEL FAILOVER.
//
//	redigo_failover -a sentinel://HOST:PORT[,HOST:PORT...]/NAME [-c CONCURRENCY]
//	                [-m leased] [-t SECONDS] [-f FAILOVER_AT_MS] [-o SERIES.csv]
//
// The pool is the seed's NewPool (MaxIdle 64, MaxActive 512, IdleTimeout
// 3 min, Wait true, 5 s connect / read / write timeouts) whose Dial asks
// sentinel.Sentinel.MasterAddr() and whose TestOnBorrow is the README's
// sentinel.TestRole(c, "master") — a ROLE round trip on every borrow.
// CONCURRENCY goroutines (64) loop Get -> SET fo:<n> <n> -> Close, a key of
// their own per write, for SECONDS (6). At FAILOVER_AT_MS (2000) a separate
// plain connection sends SENTINEL FAILOVER NAME to the first sentinel, on
// which another one is SUBSCRIBEd to +switch-master and
// +failover-state-wait-promotion. redigo itself subscribes to nothing: it
// learns of the new master only when it dials.
//
// Output as failover_bench's: "t_ms,leased_ok,command_ok,errors" per 100 ms
// to SERIES.csv (command_ok is always 0), then one line with the same keys
// (gap_command_ms=-1.0, double_callbacks=0). pool_switch_ms is the first dial
// to the new master; the lost writes are split at the announcement
// (+switch-master) instead of the pool's switch: lost_after_switch counts
// writes acknowledged after it that the new master lacks. Extra keys:
// acked_old_after_announce (writes the old master acknowledged after the
// announcement), role_check_failed (TestOnBorrow refusals) and dials.
// Exits 0 whatever it measured (2 on a usage or connection error): losses
// here are redigo's behaviour, not a failure of the run.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/FZambia/sentinel"
	"github.com/gomodule/redigo/redis"
)

const slotMs = 100

// op is one write: when it was acknowledged, whether +OK, and by which server.
type op struct {
	ackNs int64
	ok    bool
	srv   string
}

// server is passed as the last argument of Do: serverConn.Do fills it in
// with the address the connection was dialled to and drops it.
type server struct{ addr string }

type serverConn struct {
	redis.Conn
	addr string
}

func (c serverConn) Do(cmd string, args ...interface{}) (interface{}, error) {
	if n := len(args); n > 0 {
		if s, ok := args[n-1].(*server); ok {
			s.addr = c.addr
			args = args[:n-1]
		}
	}
	return c.Conn.Do(cmd, args...)
}

type bench struct {
	t0                    time.Time
	mu                    sync.Mutex
	dials                 []dial
	roleFailed            int64
	promoteNs, announceNs int64 // since t0, 0: not seen
}

type dial struct {
	ns   int64
	addr string
}

func (b *bench) since() int64 { return time.Since(b.t0).Nanoseconds() }

// newPool is the seed's NewPool with the FZambia/sentinel README's Dial and
// TestOnBorrow.
func (b *bench) newPool(addrs []string, name string) *redis.Pool {
	timeouts := []redis.DialOption{redis.DialConnectTimeout(5 * time.Second),
		redis.DialReadTimeout(5 * time.Second), redis.DialWriteTimeout(5 * time.Second)}
	sntnl := &sentinel.Sentinel{
		Addrs:      addrs,
		MasterName: name,
		Dial: func(addr string) (redis.Conn, error) {
			return redis.Dial("tcp", addr, timeouts...)
		},
	}
	return &redis.Pool{
		MaxIdle:     64,
		MaxActive:   512,
		IdleTimeout: 3 * time.Minute,
		Wait:        true,
		Dial: func() (redis.Conn, error) {
			masterAddr, err := sntnl.MasterAddr()
			if err != nil {
				return nil, err
			}
			c, err := redis.Dial("tcp", masterAddr, timeouts...)
			if err != nil {
				return nil, err
			}
			b.mu.Lock()
			b.dials = append(b.dials, dial{b.since(), masterAddr})
			b.mu.Unlock()
			return serverConn{c, masterAddr}, nil
		},
		TestOnBorrow: func(c redis.Conn, t time.Time) error {
			if !sentinel.TestRole(c, "master") {
				atomic.AddInt64(&b.roleFailed, 1)
				return errors.New("Role check failed")
			}
			return nil
		},
	}
}

// kind names an error the way errors_by_status does: the first word of an
// error reply (READONLY, ...) or what happened to the connection.
func kind(err error) string {
	var re redis.Error
	var ns sentinel.NoSentinelsAvailable
	var ne net.Error
	switch {
	case errors.As(err, &re):
		if f := strings.Fields(string(re)); len(f) > 0 {
			return f[0]
		}
		return "ERROR_REPLY"
	case errors.As(err, &ns):
		return "NO_SENTINELS"
	case errors.As(err, &ne) && ne.Timeout():
		return "TIMEOUT"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "CONN_REFUSED"
	case errors.Is(err, syscall.ECONNRESET):
		return "CONN_RESET"
	case errors.Is(err, syscall.EPIPE):
		return "EPIPE"
	}
	return "OTHER"
}

// parseAddress reads sentinel://[auth@]host:port[,...]/name[?...].
func parseAddress(a string) ([]string, string, error) {
	s := strings.TrimPrefix(a, "sentinel://")
	slash := strings.IndexByte(s, '/')
	if s == a || slash < 0 {
		return nil, "", fmt.Errorf("-a needs a sentinel://HOST:PORT[,...]/NAME address")
	}
	hosts, name := s[:slash], s[slash+1:]
	if at := strings.LastIndexByte(hosts, '@'); at >= 0 {
		hosts = hosts[at+1:]
	}
	if q := strings.IndexByte(name, '?'); q >= 0 {
		name = name[:q]
	}
	return strings.Split(hosts, ","), name, nil
}

// watch records when the sentinel says REPLICAOF NO ONE was sent and when it
// announces the switch; it ends when the connection is closed.
func (b *bench) watch(c redis.Conn, name string) {
	psc := redis.PubSubConn{Conn: c}
	psc.Subscribe("+switch-master", "+failover-state-wait-promotion")
	for {
		switch m := psc.Receive().(type) {
		case redis.Message:
			now := b.since()
			b.mu.Lock()
			if m.Channel == "+failover-state-wait-promotion" && b.promoteNs == 0 {
				b.promoteNs = now
			} else if m.Channel == "+switch-master" && b.announceNs == 0 &&
				strings.HasPrefix(string(m.Data), name+" ") {
				b.announceNs = now
			}
			b.mu.Unlock()
		case error:
			return
		}
	}
}

func ms(ns int64, from int64) float64 {
	if ns == 0 || from == 0 {
		return -1
	}
	return float64(ns-from) / 1e6
}

func main() {
	address := flag.String("a", "", "sentinel://HOST:PORT[,...]/NAME")
	concurrency := flag.Int("c", 64, "writes in flight (goroutines)")
	mode := flag.String("m", "leased", "mode (only leased)")
	seconds := flag.Int("t", 6, "seconds in all")
	failoverAt := flag.Int("f", 2000, "SENTINEL FAILOVER at this many ms")
	csv := flag.String("o", "failover.csv", "per-100 ms series")
	flag.Parse()
	addrs, name, err := parseAddress(*address)
	if err != nil || *concurrency < 1 || *seconds < 1 || *failoverAt < 0 || *mode != "leased" ||
		flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "usage: %s -a sentinel://HOST:PORT[,...]/NAME [-c CONCURRENCY] "+
			"[-m leased] [-t SECONDS] [-f FAILOVER_AT_MS] [-o SERIES.csv]\n", os.Args[0])
		os.Exit(2)
	}
	sdial := func() redis.Conn {
		c, err := redis.Dial("tcp", addrs[0], redis.DialConnectTimeout(2*time.Second))
		if err != nil {
			fmt.Fprintf(os.Stderr, "redigo_failover: sentinel %s: %v\n", addrs[0], err)
			os.Exit(2)
		}
		return c
	}
	b := &bench{t0: time.Now()}
	pool := b.newPool(addrs, name)
	side := sdial()
	go b.watch(side, name)

	// The failover: a plain connection to the first sentinel at -f ms.
	var failoverNs int64
	failoverTimer := time.AfterFunc(time.Duration(*failoverAt)*time.Millisecond, func() {
		c := sdial()
		defer c.Close()
		atomic.StoreInt64(&failoverNs, b.since())
		if _, err := c.Do("SENTINEL", "FAILOVER", name); err != nil {
			fmt.Fprintf(os.Stderr, "redigo_failover: SENTINEL FAILOVER: %v\n", err)
		}
	})

	// The load: a closed loop of Get -> SET -> Close per goroutine.
	var next int64 = -1
	var mu sync.Mutex
	ops := map[int64]op{}
	byKind := map[string]int64{}
	stop := b.t0.Add(time.Duration(*seconds) * time.Second)
	var wg sync.WaitGroup
	for i := 0; i < *concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := map[int64]op{}
			errs := map[string]int64{}
			for time.Now().Before(stop) {
				n := atomic.AddInt64(&next, 1)
				var srv server
				conn := pool.Get() // on a failed dial, Do returns its error
				reply, err := conn.Do("SET", fmt.Sprintf("fo:%d", n), n, &srv)
				conn.Close()
				ok := err == nil && reply == "OK"
				if err != nil {
					errs[kind(err)]++
				} else if !ok {
					errs["ERROR_REPLY"]++
				}
				mine[n] = op{b.since(), ok, srv.addr}
			}
			mu.Lock()
			for n, o := range mine {
				ops[n] = o
			}
			for k, v := range errs {
				byKind[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	failoverTimer.Stop()
	side.Close()
	b.mu.Lock() // the watcher may still be on its last message
	promoteNs, announceNs := b.promoteNs, b.announceNs
	b.mu.Unlock()
	fo := atomic.LoadInt64(&failoverNs)

	// The series and the gap, from the acknowledgements in time order.
	slots := *seconds * 1000 / slotMs
	okSlot, errSlot := make([]int64, slots), make([]int64, slots)
	var acks []int64
	var nok, nerr int64
	for _, o := range ops {
		s := int(o.ackNs / (slotMs * 1e6))
		if s >= slots {
			s = slots - 1
		}
		if o.ok {
			okSlot[s]++
			nok++
			acks = append(acks, o.ackNs)
		} else {
			errSlot[s]++
			nerr++
		}
	}
	sort.Slice(acks, func(i, j int) bool { return acks[i] < acks[j] })
	var gap, last int64
	for _, t := range acks {
		if t-last > gap {
			gap = t - last
		}
		last = t
	}
	f, err := os.Create(*csv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "redigo_failover: %v\n", err)
		os.Exit(2)
	}
	fmt.Fprintln(f, "t_ms,leased_ok,command_ok,errors")
	for i := 0; i < slots; i++ {
		fmt.Fprintf(f, "%d,%d,0,%d\n", i*slotMs, okSlot[i], errSlot[i])
	}
	f.Close()

	// Where the master is now; the first dial there is the pool's switch.
	c := sdial()
	hp, err := redis.Strings(c.Do("SENTINEL", "get-master-addr-by-name", name))
	c.Close()
	newMaster := ""
	if err == nil && len(hp) == 2 {
		newMaster = net.JoinHostPort(hp[0], hp[1])
	}
	var switchNs, firstAfterNs int64
	for _, d := range b.dials {
		if fo != 0 && d.ns > fo && d.addr == newMaster && b.dials[0].addr != newMaster {
			switchNs = d.ns
			break
		}
	}
	for _, t := range acks {
		if switchNs != 0 && t > switchNs {
			firstAfterNs = t
			break
		}
	}

	// Every acknowledged write looked up on the new master, 10 000 at a time.
	lostBefore, lostAfter := int64(-1), int64(-1)
	var ackedAfterPromotion, ackedOldAfterAnnounce int64
	for _, o := range ops {
		if o.ok && o.srv != newMaster && promoteNs != 0 && o.ackNs >= promoteNs {
			ackedAfterPromotion++
			if announceNs != 0 && o.ackNs >= announceNs {
				ackedOldAfterAnnounce++
			}
		}
	}
	if m, err := redis.Dial("tcp", newMaster, redis.DialReadTimeout(5*time.Second)); err == nil {
		lostBefore, lostAfter = 0, 0
		keys := make([]int64, 0, len(ops))
		for n, o := range ops {
			if o.ok {
				keys = append(keys, n)
			}
		}
		for i := 0; i < len(keys) && err == nil; i += 10000 {
			end := i + 10000
			if end > len(keys) {
				end = len(keys)
			}
			for _, n := range keys[i:end] {
				m.Send("EXISTS", fmt.Sprintf("fo:%d", n))
			}
			m.Flush()
			for _, n := range keys[i:end] {
				var e int64
				if e, err = redis.Int64(m.Receive()); err != nil {
					break
				}
				if e == 0 && announceNs != 0 && ops[n].ackNs > announceNs {
					lostAfter++
				} else if e == 0 {
					lostBefore++
				}
			}
		}
		m.Close()
		if err != nil {
			lostBefore, lostAfter = -1, -1
		}
	}

	var kinds []string
	for k, v := range byKind {
		kinds = append(kinds, fmt.Sprintf("%s:%d", k, v))
	}
	sort.Strings(kinds)
	errsByKind := strings.Join(kinds, ";")
	if errsByKind == "" {
		errsByKind = "none"
	}
	fmt.Printf("bench=redigo_failover mode=%s concurrency=%d seconds=%d writes=%d ok=%d errors=%d "+
		"errors_by_status=%s gap_ms=%.1f gap_leased_ms=%.1f gap_command_ms=-1.0 "+
		"failover_at_ms=%.1f promote_ms=%.1f announce_ms=%.1f pool_switch_ms=%.1f "+
		"first_write_after_ms=%.1f acked_after_promotion=%d lost_before_switch=%d "+
		"lost_after_switch=%d double_callbacks=0 acked_old_after_announce=%d "+
		"role_check_failed=%d dials=%d\n",
		*mode, *concurrency, *seconds, len(ops), nok, nerr, errsByKind,
		float64(gap)/1e6, float64(gap)/1e6, float64(fo)/1e6, ms(promoteNs, fo),
		ms(announceNs, fo), ms(switchNs, fo), ms(firstAfterNs, switchNs), ackedAfterPromotion,
		lostBefore, lostAfter, ackedOldAfterAnnounce, atomic.LoadInt64(&b.roleFailed), len(b.dials))
}
