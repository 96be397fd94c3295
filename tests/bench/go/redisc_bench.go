// SPDX-License-Identifier: BSD-3-Clause

// redisc_bench — the Go peer of cluster_bench: the same closed loop (CONCURRENCY
// goroutines, each GET or SET of key "bench:<i mod 1024>") through a Redis
// Cluster client of Debian's Go packages: github.com/mna/redisc on
// github.com/gomodule/redigo pools (one per node, MaxActive -s). Prints
// cluster_bench's result line ("bench=redisc ... ops_per_sec=N").
//
// Built offline from /usr/share/gocode in GOPATH mode (scripts/bench):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= go build -o redisc_bench redisc_bench.go
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/mna/redisc"
)

func main() {
	seeds := flag.String("a", "", "seed nodes, HOST:PORT[,HOST:PORT...]")
	conc := flag.Int("c", 64, "requests in flight (goroutines)")
	total := flag.Int64("n", 100000, "requests in all")
	poolSize := flag.Int("s", 0, "connections per node (MaxActive; 0 = concurrency)")
	mode := flag.String("m", "get", "get or set")
	flag.Parse()
	if *seeds == "" || *conc <= 0 || *total <= 0 || (*mode != "get" && *mode != "set") {
		flag.Usage()
		os.Exit(2)
	}
	size := *poolSize
	if size == 0 {
		size = *conc
	}
	cluster := &redisc.Cluster{
		StartupNodes: strings.Split(*seeds, ","),
		DialOptions:  []redis.DialOption{redis.DialConnectTimeout(5 * time.Second)},
		CreatePool: func(addr string, opts ...redis.DialOption) (*redis.Pool, error) {
			return &redis.Pool{
				MaxIdle:     size,
				MaxActive:   size,
				Wait:        true,
				IdleTimeout: time.Minute,
				Dial:        func() (redis.Conn, error) { return redis.Dial("tcp", addr, opts...) },
			}, nil
		},
	}
	defer cluster.Close()
	if err := cluster.Refresh(); err != nil {
		fmt.Fprintln(os.Stderr, "redisc_bench:", err)
		os.Exit(2)
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench:%d", i)
	}
	var started, errors int64
	lat := make([][]uint32, *conc)
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < *conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&started, 1) - 1
				if i >= *total {
					return
				}
				t := time.Now()
				conn := cluster.Get()
				key := keys[i%int64(len(keys))]
				var err error
				if *mode == "set" {
					_, err = conn.Do("SET", key, "hello")
				} else {
					_, err = conn.Do("GET", key)
				}
				conn.Close()
				if err != nil {
					atomic.AddInt64(&errors, 1)
				}
				lat[g] = append(lat[g], uint32(time.Since(t).Microseconds()))
			}
		}(g)
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	var all []uint32
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) uint32 {
		if len(all) == 0 {
			return 0
		}
		return all[int(p*float64(len(all)-1))]
	}
	fmt.Printf("bench=redisc mode=%s concurrency=%d pool=%d total=%d errors=%d seconds=%.3f "+
		"p50_us=%d p99_us=%d ops_per_sec=%.0f\n", *mode, *conc, size, len(all), errors, secs,
		pct(0.50), pct(0.99), float64(len(all))/secs)
	if errors > 0 {
		os.Exit(1)
	}
}
