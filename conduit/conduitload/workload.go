package conduitload

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cohort-dev/cohort/aggregates/blog"
)

// Config configures a Workload.
type Config struct {
	// Client sends the requests. Required.
	Client *Client
	// Workers is the number of concurrent workers (default 4).
	Workers int
	// UsersPerWorker is how many users each worker registers at most
	// (default 4).
	UsersPerWorker int
	// MaxArticles and MaxComments bound the articles and the live comments
	// of each worker (0: no bound). Beyond them a worker retitles instead
	// of publishing and deletes comments instead of adding them, so that
	// the data the server keeps in memory stops growing: a soak then
	// tells a leak from a growing working set.
	MaxArticles, MaxComments int
	// ReadShare is the share of requests that are reads, 0..1 (default
	// 0.2; negative for none).
	ReadShare float64
	// Pause is how long a worker waits after a request that was not
	// acknowledged (default 100 ms), so that an outage is not a busy loop.
	Pause time.Duration
	// Seed seeds the workers' choices; 0 picks one at random.
	Seed uint64
	// Logf, if set, receives unexpected answers.
	Logf func(format string, args ...any)
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.UsersPerWorker <= 0 {
		c.UsersPerWorker = 4
	}
	if c.ReadShare == 0 {
		c.ReadShare = 0.2
	}
	if c.Pause <= 0 {
		c.Pause = 100 * time.Millisecond
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// User is a user whose registration was acknowledged.
type User struct {
	Email    string
	Password string
	Token    string
	Username *Fact[string]
}

// Article is an article whose publication was acknowledged. Titles are
// unique, so an article's slug is blog.Slugify of its title.
type Article struct {
	Author *User
	Title  *Fact[string]
	Body   string
	Tags   []string
}

// Comment is a comment whose creation was acknowledged.
type Comment struct {
	ID      int64
	Article *Article
	Author  *User
	Body    string
	Deleted *Fact[bool]
}

// pair keys a favorite (user, article) or a follow (follower, author).
type pair struct{ a, b any }

// Workload is a running load and its ledger.
type Workload struct {
	cfg   Config
	c     *Client
	stats Stats
	run   string // distinguishes this workload's names from other runs'
	seq   atomic.Int64

	mu        sync.Mutex // guards the ledger below
	users     []*User
	articles  []*Article
	comments  []*Comment
	favorites map[pair]*Fact[bool]
	follows   map[pair]*Fact[bool]
}

// New returns a workload; Run runs it.
func New(cfg Config) *Workload {
	cfg = cfg.withDefaults()
	return &Workload{
		cfg:       cfg,
		c:         cfg.Client,
		run:       strings.ToLower(crand.Text()[:6]),
		favorites: make(map[pair]*Fact[bool]),
		follows:   make(map[pair]*Fact[bool]),
	}
}

// Stats returns the workload's counters.
func (w *Workload) Stats() *Stats { return &w.stats }

// Usernames returns the usernames of the workload's users, as far as the
// workers know them.
func (w *Workload) Usernames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, len(w.users))
	for i, u := range w.users {
		names[i] = u.Username.Believed()
	}
	return names
}

// Seed returns the seed of the workers' choices.
func (w *Workload) Seed() uint64 { return w.cfg.Seed }

// Run runs the workers until ctx is done. Requests are not cancelled:
// each worker finishes its current request (within the client's timeout),
// so that none is abandoned in the server while the ledger moves on.
func (w *Workload) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range w.cfg.Workers {
		wk := &worker{w: w, id: i, rng: rand.New(rand.NewPCG(w.cfg.Seed, uint64(i)))}
		wg.Go(func() { wk.loop(ctx) })
	}
	wg.Wait()
}

// name returns a name that no other request of any run uses.
func (w *Workload) name(worker int) string {
	return fmt.Sprintf("%s%d_%d", w.run, worker, w.seq.Add(1))
}

// worker sends one request at a time for the users it owns.
type worker struct {
	w        *Workload
	id       int
	rng      *rand.Rand
	users    []*User
	articles []*Article
	comments []*Comment
}

func (k *worker) loop(ctx context.Context) {
	for ctx.Err() == nil {
		op := k.pick()
		if o := k.do(op); o != Acked {
			sleep(ctx, k.w.cfg.Pause/2+time.Duration(k.rng.Int64N(int64(k.w.cfg.Pause))))
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// weights of the writes, once a worker has a user.
var weights = [numOps]int{
	OpRegister: 6, OpPublish: 12, OpRetitle: 6, OpComment: 16, OpUncomment: 3,
	OpFavorite: 25, OpFollow: 14, OpRename: 6,
}

func (k *worker) pick() Op {
	if len(k.users) == 0 {
		return OpRegister
	}
	if k.rng.Float64() < k.w.cfg.ReadShare {
		return OpRead
	}
	w := weights
	if len(k.users) >= k.w.cfg.UsersPerWorker {
		w[OpRegister] = 0
	}
	if n := k.w.cfg.MaxArticles; n > 0 && len(k.articles) >= n {
		w[OpPublish] = 0
	}
	if n := k.w.cfg.MaxComments; n > 0 && len(k.comments) >= n {
		w[OpUncomment], w[OpComment] = w[OpComment], 0
	}
	if len(k.articles) == 0 {
		w[OpRetitle] = 0
	}
	if len(k.comments) == 0 {
		w[OpUncomment] = 0
	}
	total := 0
	for _, n := range w {
		total += n
	}
	r := k.rng.IntN(total)
	for op, n := range w {
		if r < n {
			return Op(op)
		}
		r -= n
	}
	return OpRead
}

// background is the context of requests: they are never cancelled, only
// bounded by the client's timeout.
var background = context.Background()

func (k *worker) do(op Op) Outcome {
	switch op {
	case OpRegister:
		return k.register()
	case OpPublish:
		return k.publish()
	case OpRetitle:
		return k.retitle()
	case OpComment:
		return k.comment()
	case OpUncomment:
		return k.uncomment()
	case OpFavorite:
		return k.favorite()
	case OpFollow:
		return k.follow()
	case OpRename:
		return k.rename()
	}
	return k.read()
}

// send sends a request of op and counts it.
func (k *worker) send(op Op, method, path, token string, in any) (Response, Outcome) {
	r := k.w.c.Do(background, method, path, token, in)
	o := k.w.stats.add(op, r)
	if o == Rejected && !expectedRejection(op, r.Status) {
		k.w.cfg.Logf("conduitload: %s %s %s: %s", op, method, path, r)
	}
	return r, o
}

// expectedRejection reports whether a 4xx is an expected answer to op:
// reads and writes aimed at an article, a comment or a profile by a name
// that a concurrent (or unacknowledged) write may have changed.
func expectedRejection(op Op, status int) bool {
	return status == http.StatusNotFound && op != OpRegister && op != OpPublish && op != OpRename
}

// anomaly notes an acknowledged answer the load cannot use.
func (k *worker) anomaly(op Op, r Response, err error) {
	k.w.stats.anomalies.Add(1)
	k.w.cfg.Logf("conduitload: %s acknowledged, but %v (answer %s)", op, err, r)
}

func (k *worker) user() *User { return k.users[k.rng.IntN(len(k.users))] }

// randomArticle returns any worker's article and the slug to reach it by.
func (k *worker) randomArticle() (*Article, string) {
	k.w.mu.Lock()
	defer k.w.mu.Unlock()
	if len(k.w.articles) == 0 {
		return nil, ""
	}
	a := k.w.articles[k.rng.IntN(len(k.w.articles))]
	return a, blog.Slugify(a.Title.Believed())
}

// randomUser returns any worker's user other than not, and its username.
func (k *worker) randomUser(not *User) (*User, string) {
	k.w.mu.Lock()
	defer k.w.mu.Unlock()
	if len(k.w.users) < 2 {
		return nil, ""
	}
	for {
		u := k.w.users[k.rng.IntN(len(k.w.users))]
		if u != not {
			return u, u.Username.Believed()
		}
	}
}

func (k *worker) register() Outcome {
	name := k.w.name(k.id)
	u := &User{Email: name + "@load.test", Password: "pw-" + name}
	r, o := k.send(OpRegister, http.MethodPost, "/users", "",
		map[string]any{"user": map[string]string{"username": name, "email": u.Email, "password": u.Password}})
	if o != Acked {
		return o
	}
	var doc UserDoc
	if err := r.Decode(&doc); err != nil || doc.User.Token == "" || doc.User.Username != name {
		k.anomaly(OpRegister, r, fmt.Errorf("user %q: %v", doc.User.Username, err))
		return o
	}
	u.Token, u.Username = doc.User.Token, NewFact(name)
	k.w.mu.Lock()
	k.w.users = append(k.w.users, u)
	k.w.mu.Unlock()
	k.users = append(k.users, u)
	return o
}

var tagPool = []string{"go", "crash", "fault", "postgres", "actors", "cqrs", "events", "soak"}

func (k *worker) publish() Outcome {
	u := k.user()
	title := "Article " + k.w.name(k.id)
	var tags []string
	for range k.rng.IntN(4) {
		tags = append(tags, tagPool[k.rng.IntN(len(tagPool))])
	}
	tags = blog.NormalizeTags(tags)
	body := "Body of " + title
	r, o := k.send(OpPublish, http.MethodPost, "/articles", u.Token, map[string]any{"article": map[string]any{
		"title": title, "description": "About " + title, "body": body, "tagList": tags}})
	if o != Acked {
		return o
	}
	var doc ArticleDoc
	if err := r.Decode(&doc); err != nil || doc.Article.Slug != blog.Slugify(title) {
		k.anomaly(OpPublish, r, fmt.Errorf("slug %q for title %q: %v", doc.Article.Slug, title, err))
		return o
	}
	a := &Article{Author: u, Title: NewFact(title), Body: body, Tags: tags}
	k.w.mu.Lock()
	k.w.articles = append(k.w.articles, a)
	k.w.mu.Unlock()
	k.articles = append(k.articles, a)
	return o
}

func (k *worker) retitle() Outcome {
	a := k.articles[k.rng.IntN(len(k.articles))]
	title := "Retitled " + k.w.name(k.id)
	k.w.mu.Lock()
	slug := blog.Slugify(a.Title.Believed())
	k.w.mu.Unlock()
	_, o := k.send(OpRetitle, http.MethodPut, "/articles/"+escape(slug), a.Author.Token,
		map[string]any{"article": map[string]string{"title": title}})
	k.w.mu.Lock()
	a.Title.Record(title, o)
	k.w.mu.Unlock()
	return o
}

func (k *worker) comment() Outcome {
	a, slug := k.randomArticle()
	if a == nil {
		return k.publish()
	}
	u := k.user()
	body := "Comment " + k.w.name(k.id)
	r, o := k.send(OpComment, http.MethodPost, "/articles/"+escape(slug)+"/comments", u.Token,
		map[string]any{"comment": map[string]string{"body": body}})
	if o != Acked {
		return o
	}
	var doc CommentDoc
	if err := r.Decode(&doc); err != nil || doc.Comment.ID == 0 || doc.Comment.Body != body {
		k.anomaly(OpComment, r, fmt.Errorf("comment %+v: %v", doc.Comment, err))
		return o
	}
	c := &Comment{ID: doc.Comment.ID, Article: a, Author: u, Body: body, Deleted: NewFact(false)}
	k.w.mu.Lock()
	k.w.comments = append(k.w.comments, c)
	k.w.mu.Unlock()
	k.comments = append(k.comments, c)
	return o
}

func (k *worker) uncomment() Outcome {
	i := k.rng.IntN(len(k.comments))
	c := k.comments[i]
	k.w.mu.Lock()
	slug := blog.Slugify(c.Article.Title.Believed())
	k.w.mu.Unlock()
	_, o := k.send(OpUncomment, http.MethodDelete, fmt.Sprintf("/articles/%s/comments/%d", escape(slug), c.ID), c.Author.Token, nil)
	if o == Rejected || o == Refused {
		return o
	}
	k.w.mu.Lock()
	c.Deleted.Record(true, o)
	k.w.mu.Unlock()
	// Deleting it once more would be refused whatever happened: forget it.
	k.comments = append(k.comments[:i], k.comments[i+1:]...)
	return o
}

func (k *worker) favorite() Outcome {
	a, slug := k.randomArticle()
	if a == nil {
		return k.publish()
	}
	u := k.user()
	return k.toggle(OpFavorite, k.w.favorites, pair{u, a}, u.Token, "/articles/"+escape(slug)+"/favorite")
}

func (k *worker) follow() Outcome {
	u := k.user()
	target, name := k.randomUser(u)
	if target == nil {
		return k.register()
	}
	return k.toggle(OpFollow, k.w.follows, pair{u, target}, u.Token, "/profiles/"+escape(name)+"/follow")
}

// toggle flips the boolean fact key with POST (to true) or DELETE.
func (k *worker) toggle(op Op, facts map[pair]*Fact[bool], key pair, token, path string) Outcome {
	k.w.mu.Lock()
	f := facts[key]
	if f == nil {
		f = NewFact(false)
		facts[key] = f
	}
	want := !f.Believed()
	k.w.mu.Unlock()
	method := http.MethodPost
	if !want {
		method = http.MethodDelete
	}
	_, o := k.send(op, method, path, token, nil)
	k.w.mu.Lock()
	f.Record(want, o)
	k.w.mu.Unlock()
	return o
}

func (k *worker) rename() Outcome {
	u := k.user()
	name := k.w.name(k.id)
	_, o := k.send(OpRename, http.MethodPut, "/user", u.Token,
		map[string]any{"user": map[string]string{"username": name}})
	k.w.mu.Lock()
	u.Username.Record(name, o)
	k.w.mu.Unlock()
	return o
}

func (k *worker) read() Outcome {
	u := k.user()
	var path, token string
	switch k.rng.IntN(7) {
	case 0:
		path = "/articles?limit=20"
	case 1:
		path, token = "/articles/feed?limit=20", u.Token
	case 2:
		path = "/tags"
	case 3:
		path, token = "/user", u.Token
	case 4:
		_, name := k.randomUser(u)
		if name == "" {
			name = u.Username.Believed()
		}
		path, token = "/profiles/"+escape(name), u.Token
	default:
		_, slug := k.randomArticle()
		if slug == "" {
			path = "/articles"
		} else if k.rng.IntN(2) == 0 {
			path, token = "/articles/"+escape(slug), u.Token
		} else {
			path = "/articles/" + escape(slug) + "/comments"
		}
	}
	_, o := k.send(OpRead, http.MethodGet, path, token, nil)
	return o
}
