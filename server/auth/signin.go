package auth

import (
	"sync"
	"time"
)

// SignInPolicy decides which password attempts the server tries. It keys
// its limits on the account and the client address together, so that a
// client guessing one account's password cannot lock its owner out from
// anywhere else:
//
//   - PerAddr bounds the attempts from one address, whatever accounts
//     they name (a client trying many accounts);
//   - PerPair bounds the attempts at one account from one address;
//   - each failed attempt at an account counts against it, and once
//     BackoffAfter failures (from any addresses) are counted, an address
//     that has failed on the account waits an exponentially growing delay
//     since its own last failure before its next attempt. An address that
//     has not failed on the account is not held back by that backoff: the
//     owner signing in from their own desk with the right password gets
//     in while an attacker elsewhere is backed off.
//
// A successful sign-in clears its address's failures on the account.
//
// The zero SignInPolicy uses the defaults each field documents. It is safe
// for concurrent use; its state lives in memory and is bounded by MaxUsers
// accounts of at most MaxAddrs addresses each.
type SignInPolicy struct {
	// PerAddr limits attempts per client address. A zero Burst means 20
	// attempts, refilling one every 3 seconds.
	PerAddr Limiter
	// PerPair limits attempts per account and client address. A zero
	// Burst means 5 attempts, refilling one every 12 seconds.
	PerPair Limiter
	// BackoffAfter is how many failures at an account start its backoff.
	// Zero means 5.
	BackoffAfter int
	// BackoffBase is the first backoff delay, doubled for each further
	// failure. Zero means 2 seconds.
	BackoffBase time.Duration
	// BackoffMax caps the delay. Zero means 15 minutes.
	BackoffMax time.Duration
	// Forget is how long after its last failure an account's record is
	// dropped. Zero means one hour.
	Forget time.Duration
	// MaxUsers bounds the accounts remembered; MaxAddrs the failing
	// addresses remembered per account. Zero means 10000 and 1000.
	MaxUsers, MaxAddrs int

	once  sync.Once
	mu    sync.Mutex
	users map[string]*failures
}

// failures is what the policy remembers of one account's failed attempts.
type failures struct {
	count int
	last  time.Time
	addrs map[string]time.Time // address → its last failure
}

func (p *SignInPolicy) init() {
	p.once.Do(func() {
		if p.PerAddr.Burst == 0 {
			p.PerAddr.Burst, p.PerAddr.Every = 20, 3*time.Second
		}
		if p.PerPair.Burst == 0 {
			p.PerPair.Burst, p.PerPair.Every = 5, 12*time.Second
		}
		if p.BackoffAfter == 0 {
			p.BackoffAfter = 5
		}
		if p.BackoffBase == 0 {
			p.BackoffBase = 2 * time.Second
		}
		if p.BackoffMax == 0 {
			p.BackoffMax = 15 * time.Minute
		}
		if p.Forget == 0 {
			p.Forget = time.Hour
		}
		if p.MaxUsers == 0 {
			p.MaxUsers = 10000
		}
		if p.MaxAddrs == 0 {
			p.MaxAddrs = 1000
		}
		p.users = make(map[string]*failures)
	})
}

// Bursts returns the attempts allowed in a burst per account and address,
// and per address.
func (p *SignInPolicy) Bursts() (perPair, perAddr int) {
	p.init()
	return p.PerPair.Burst, p.PerAddr.Burst
}

// AllowAddr takes one attempt from addr's bucket, for requests that name
// no account (enrolment). It returns how long to wait when refused.
func (p *SignInPolicy) AllowAddr(addr string, now time.Time) (bool, time.Duration) {
	p.init()
	return p.PerAddr.Allow(addr, now)
}

// Allow reports whether an attempt at user's password from addr may be
// tried at now, and when not, how long to wait. An allowed attempt is
// counted; report its outcome with Record.
func (p *SignInPolicy) Allow(user, addr string, now time.Time) (bool, time.Duration) {
	p.init()
	if wait := p.backoff(user, addr, now); wait > 0 {
		return false, wait
	}
	if ok, wait := p.PerAddr.Allow(addr, now); !ok {
		return false, wait
	}
	return p.PerPair.Allow(user+"\x1f"+addr, now) // not NUL: a shared store keeps keys as text
}

// backoff returns how long addr must still wait before trying user again.
func (p *SignInPolicy) backoff(user, addr string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.users[user]
	if f == nil {
		return 0
	}
	if now.Sub(f.last) > p.Forget {
		delete(p.users, user)
		return 0
	}
	last, failed := f.addrs[addr]
	if !failed || f.count < p.BackoffAfter {
		return 0
	}
	delay := p.BackoffBase
	for i := p.BackoffAfter; i < f.count && delay < p.BackoffMax; i++ {
		delay *= 2
	}
	delay = min(delay, p.BackoffMax)
	if wait := last.Add(delay).Sub(now); wait > 0 {
		return wait
	}
	return 0
}

// Record reports the outcome of an allowed attempt.
func (p *SignInPolicy) Record(user, addr string, ok bool, now time.Time) {
	p.init()
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.users[user]
	if ok {
		if f != nil {
			delete(f.addrs, addr)
			if len(f.addrs) == 0 {
				delete(p.users, user)
			}
		}
		return
	}
	if f == nil || now.Sub(f.last) > p.Forget {
		if f == nil && len(p.users) >= p.MaxUsers {
			p.evictUsers(now)
		}
		f = &failures{addrs: make(map[string]time.Time)}
		p.users[user] = f
	}
	if _, seen := f.addrs[addr]; !seen && len(f.addrs) >= p.MaxAddrs {
		evictOldest(f.addrs)
	}
	f.count++
	f.last = now
	f.addrs[addr] = now
}

// evictUsers forgets stale accounts, then the one whose last failure is
// oldest, to make room for one more.
func (p *SignInPolicy) evictUsers(now time.Time) {
	var oldest string
	for u, f := range p.users {
		if now.Sub(f.last) > p.Forget {
			delete(p.users, u)
			continue
		}
		if oldest == "" || f.last.Before(p.users[oldest].last) {
			oldest = u
		}
	}
	if len(p.users) >= p.MaxUsers && oldest != "" {
		delete(p.users, oldest)
	}
}

func evictOldest(m map[string]time.Time) {
	var oldest string
	var at time.Time
	for k, t := range m {
		if oldest == "" || t.Before(at) {
			oldest, at = k, t
		}
	}
	delete(m, oldest)
}
