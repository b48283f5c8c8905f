package auth

import (
	"context"
	"sync"
	"time"
)

// Limiter is a set of token buckets, one per key (a user name or a client
// address): each holds up to Burst attempts and refills one every Every.
// It remembers at most MaxKeys keys, forgetting full buckets first, so an
// attacker cycling keys cannot grow it without bound.
type Limiter struct {
	Burst   int
	Every   time.Duration
	MaxKeys int // zero: 10000
	// Shared, when set, keeps the buckets where every server instance
	// draws from them (a shared database), under keys prefixed by Name.
	// The buckets in memory then serve only while Shared fails.
	Shared SharedBuckets
	Name   string

	mu      sync.Mutex
	buckets map[string]bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// SharedBuckets is token-bucket state several server instances share
// (store.RateLimits).
type SharedBuckets interface {
	TakeAttempt(ctx context.Context, key string, burst int, every time.Duration, now time.Time) (bool, time.Duration, error)
}

// Allow takes one attempt from key's bucket at time now. When the bucket is
// empty it returns false and how long until the next attempt is allowed.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l.Shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ok, wait, err := l.Shared.TakeAttempt(ctx, l.Name+":"+key, l.Burst, l.Every, now)
		cancel()
		if err == nil {
			return ok, wait
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = make(map[string]bucket)
	}
	b, ok := l.buckets[key]
	if !ok {
		l.evict(now)
		b = bucket{tokens: float64(l.Burst), last: now}
	}
	b = l.refill(b, now)
	if b.tokens < 1 {
		l.buckets[key] = b
		wait := time.Duration((1 - b.tokens) * float64(l.Every))
		return false, wait
	}
	b.tokens--
	l.buckets[key] = b
	return true, 0
}

func (l *Limiter) refill(b bucket, now time.Time) bucket {
	if dt := now.Sub(b.last); dt > 0 && l.Every > 0 {
		b.tokens += float64(dt) / float64(l.Every)
		if b.tokens > float64(l.Burst) {
			b.tokens = float64(l.Burst)
		}
	}
	if now.After(b.last) {
		b.last = now
	}
	return b
}

// evict makes room for one more key.
func (l *Limiter) evict(now time.Time) {
	max := l.MaxKeys
	if max <= 0 {
		max = 10000
	}
	if len(l.buckets) < max {
		return
	}
	for k, b := range l.buckets {
		if l.refill(b, now).tokens >= float64(l.Burst) {
			delete(l.buckets, k)
		}
	}
	// Still full: every bucket is in use by an attacker or by people
	// signing in; drop arbitrary ones rather than grow.
	for k := range l.buckets {
		if len(l.buckets) < max {
			break
		}
		delete(l.buckets, k)
	}
}
