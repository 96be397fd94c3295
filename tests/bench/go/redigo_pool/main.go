// SPDX-License-Identifier: BSD-3-Clause

// Command redigo_pool is the peer of pool_bench -m leased: the real redigo
// redis.Pool (Debian's golang-github-gomodule-redigo-dev), configured exactly
// as the seed's redisconn.NewPool, in a closed loop of GET.
//
//	redigo_pool -p PORT -c CONCURRENCY -n TOTAL [-s MAX_ACTIVE] [-h HOST] [-d DB]
//
// CONCURRENCY goroutines each loop Get -> GET -> Close (pool.GetContext, as
// the seed's redisconn.Get(ctx)) until TOTAL requests were started. The pool
// is the seed's NewPool: MaxIdle 64, MaxActive 512 (-s overrides MaxActive
// only, for a pool smaller than the concurrency), IdleTimeout 3 min, Wait
// true, dial with 5 s connect / read / write timeouts and SELECT only when
// db != 0 (redis.DialDatabase), TestOnBorrow PING after 1 min idle. No
// connection exists before the first Get.
//
// The last output line is the one pool_bench prints (tests/bench/bench_common.h):
// latency per request from Get to the GET reply, p50/p99 over every request,
// user and system CPU time of the whole process (getrusage: every thread,
// the Go runtime's included) per request, and ops_per_sec=N last. Run it
// pinned to one core (taskset -c 1): the runtime then starts with
// GOMAXPROCS=1 (it reads the affinity mask); gomaxprocs= in the line says
// which was used.
//
// Build offline against Debian's packages (GOPATH mode, no module download):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$PWD/build/gocache \
//	    go build -o build/release/tests/bench/redigo_pool ./tests/bench/go/redigo_pool
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
)

// newPool is the seed's redisconn.NewPool(addr, db), with MaxActive as a knob.
func newPool(addr string, db, maxActive int) *redis.Pool {
	return &redis.Pool{
		MaxIdle:     64,
		MaxActive:   maxActive,
		IdleTimeout: 3 * time.Minute,
		Wait:        true,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.Dial("tcp", addr,
				redis.DialDatabase(db),
				redis.DialConnectTimeout(5*time.Second),
				redis.DialReadTimeout(5*time.Second),
				redis.DialWriteTimeout(5*time.Second),
			)
		},
		TestOnBorrow: func(c redis.Conn, t time.Time) error {
			if time.Since(t) < time.Minute {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// worker runs requests until `started` reaches total; returns its latencies (µs).
func worker(ctx context.Context, pool *redis.Pool, started *int64, total, perWorker int64,
	errors *int64) []uint32 {
	lat := make([]uint32, 0, perWorker)
	for atomic.AddInt64(started, 1) <= total {
		t0 := time.Now()
		ok := false
		conn, err := pool.GetContext(ctx)
		if err == nil {
			_, err = conn.Do("GET", "bench:key")
			ok = err == nil
			conn.Close()
		}
		if !ok {
			atomic.AddInt64(errors, 1)
		}
		us := time.Since(t0).Microseconds()
		if us > 1<<32-1 {
			us = 1<<32 - 1
		}
		lat = append(lat, uint32(us))
	}
	return lat
}

func cpuNs(ru *syscall.Rusage) (user, sys int64) {
	return ru.Utime.Nano(), ru.Stime.Nano()
}

func main() {
	host := flag.String("h", "127.0.0.1", "host")
	port := flag.Int("p", 6379, "port")
	concurrency := flag.Int("c", 64, "requests in flight (goroutines)")
	total := flag.Int64("n", 100000, "requests in all")
	maxActive := flag.Int("s", 512, "MaxActive (the seed's 512)")
	db := flag.Int("d", 0, "DB to SELECT (the seed's db argument)")
	mode := flag.String("m", "redigo", "mode (only redigo)")
	flag.Parse()
	if *port <= 0 || *port > 65535 || *concurrency <= 0 || *total <= 0 || *maxActive < 0 ||
		*mode != "redigo" || flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "usage: %s -p PORT -c CONCURRENCY -n TOTAL [-s MAX_ACTIVE] [-h HOST] [-d DB]\n"+
			"  prints one result line ending in ops_per_sec=N\n", os.Args[0])
		os.Exit(2)
	}
	pool := newPool(fmt.Sprintf("%s:%d", *host, *port), *db, *maxActive)
	ctx := context.Background()

	var started, errors int64
	var wg sync.WaitGroup
	results := make([][]uint32, *concurrency)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t0 := time.Now()
	for i := 0; i < *concurrency; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = worker(ctx, pool, &started, *total, *total/int64(*concurrency)+16, &errors)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	pool.Close()

	var lat []uint32
	for _, r := range results {
		lat = append(lat, r...)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) uint32 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	done := int64(len(lat))
	u0, s0 := cpuNs(&ru0)
	u1, s1 := cpuNs(&ru1)
	secs := elapsed.Seconds()
	ops := 0.0
	if secs > 0 {
		ops = float64(done) / secs
	}
	fmt.Printf("bench=redigo_pool mode=%s concurrency=%d pool=%d total=%d errors=%d seconds=%.3f "+
		"p50_us=%d p99_us=%d gomaxprocs=%d user_ns_per_op=%.0f sys_ns_per_op=%.0f ops_per_sec=%.0f\n",
		*mode, *concurrency, *maxActive, done, errors, secs, pct(0.50), pct(0.99),
		runtime.GOMAXPROCS(0), float64(u1-u0)/float64(done), float64(s1-s0)/float64(done), ops)
	if errors != 0 {
		os.Exit(1)
	}
}
