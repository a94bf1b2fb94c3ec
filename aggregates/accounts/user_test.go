package accounts_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/actors/actorstest"
	"github.com/cohort-dev/cohort/actors/unique"
	"github.com/cohort-dev/cohort/aggregates/accounts"
	"github.com/cohort-dev/cohort/aggregates/validation"
)

func ptr[T any](v T) *T { return &v }

var registered = accounts.UserRegistered{UserID: "u1", Username: "jake", Email: "jake@jake.jake", HashedPassword: "h1",
	UsernameClaim: 1, EmailClaim: 1}

// streams names the tests' claim streams.
var streams = func() *unique.Streams {
	s, err := unique.NewStreams(unique.Config{Key: []byte("the accounts tests' claims key..")})
	if err != nil {
		panic(err)
	}
	return s
}()

// claimOf and releaseOf are the stream writes of u1's claims.
func claimOf(namespace, key string, at int64) actors.StreamWrite {
	w, err := streams.ClaimWrite(namespace, key, "u1", at)
	if err != nil {
		panic(err)
	}
	return w
}

func releaseOf(namespace, key string, at int64) actors.StreamWrite {
	w, err := streams.ReleaseWrite(namespace, key, "u1", at)
	if err != nil {
		panic(err)
	}
	return w
}

func TestUser(t *testing.T) {
	tests := []struct {
		name      string
		given     []any
		when      any
		then      []any
		wantErr   error
		wantField string // a field the validation.Errors must name
	}{
		{
			name: "register",
			when: accounts.RegisterUser{UserID: "u1", Username: "jake", Email: "jake@jake.jake", HashedPassword: "h1"},
			then: []any{registered, claimOf("username", "jake", 0), claimOf("email", "jake@jake.jake", 0)},
		},
		{
			name: "register with released keys",
			when: accounts.RegisterUser{UserID: "u1", Username: "Jake", Email: "jake@jake.jake", HashedPassword: "h1",
				UsernameClaimAt: 4, EmailClaimAt: 2},
			then: []any{
				accounts.UserRegistered{UserID: "u1", Username: "Jake", Email: "jake@jake.jake", HashedPassword: "h1",
					UsernameClaim: 5, EmailClaim: 3},
				claimOf("username", "jake", 4), claimOf("email", "jake@jake.jake", 2),
			},
		},
		{
			name:    "register twice",
			given:   []any{registered},
			when:    accounts.RegisterUser{UserID: "u1", Username: "jake", Email: "jake@jake.jake", HashedPassword: "h1"},
			wantErr: accounts.ErrAlreadyRegistered,
		},
		{
			name:      "register blank username",
			when:      accounts.RegisterUser{UserID: "u1", Email: "jake@jake.jake", HashedPassword: "h1"},
			wantField: "username",
		},
		{
			name:      "register invalid email",
			when:      accounts.RegisterUser{UserID: "u1", Username: "jake", Email: "jake", HashedPassword: "h1"},
			wantField: "email",
		},
		{
			name:    "update unknown user",
			when:    accounts.UpdateUser{UserID: "u1", Bio: ptr("hi")},
			wantErr: accounts.ErrUserNotFound,
		},
		{
			name:  "update every field",
			given: []any{registered},
			when: accounts.UpdateUser{UserID: "u1", Username: ptr("jacob"), Email: ptr("jacob@jake.jake"),
				HashedPassword: ptr("h2"), Bio: ptr("I work at statefarm"), Image: ptr("https://i.example/j.png")},
			then: []any{
				accounts.UsernameChanged{UserID: "u1", Username: "jacob", Previous: "jake", Claim: 1},
				accounts.UserEmailChanged{UserID: "u1", Email: "jacob@jake.jake", Previous: "jake@jake.jake", Claim: 1},
				accounts.UserPasswordChanged{UserID: "u1", HashedPassword: "h2"},
				accounts.UserBioChanged{UserID: "u1", Bio: "I work at statefarm"},
				accounts.UserImageChanged{UserID: "u1", Image: "https://i.example/j.png"},
				claimOf("username", "jacob", 0), releaseOf("username", "jake", 1),
				claimOf("email", "jacob@jake.jake", 0), releaseOf("email", "jake@jake.jake", 1),
			},
		},
		{
			name:  "change of case claims nothing",
			given: []any{registered},
			when:  accounts.UpdateUser{UserID: "u1", Username: ptr("Jake")},
			then:  []any{accounts.UsernameChanged{UserID: "u1", Username: "Jake", Previous: "jake"}},
		},
		{
			name: "release at the version claimed",
			given: []any{registered, accounts.UsernameChanged{UserID: "u1", Username: "jacob", Previous: "jake", Claim: 3},
				accounts.UsernameChanged{UserID: "u1", Username: "Jacob", Previous: "jacob"}},
			when: accounts.UpdateUser{UserID: "u1", Username: ptr("jake"), UsernameClaimAt: 2},
			then: []any{
				accounts.UsernameChanged{UserID: "u1", Username: "jake", Previous: "Jacob", Claim: 3},
				claimOf("username", "jake", 2), releaseOf("username", "jacob", 3),
			},
		},
		{
			name:  "claims of earlier events are at version 1",
			given: []any{accounts.UserRegistered{UserID: "u1", Username: "jake", Email: "jake@jake.jake", HashedPassword: "h1"}},
			when:  accounts.UpdateUser{UserID: "u1", Email: ptr("j@jake.jake")},
			then: []any{
				accounts.UserEmailChanged{UserID: "u1", Email: "j@jake.jake", Previous: "jake@jake.jake", Claim: 1},
				claimOf("email", "j@jake.jake", 0), releaseOf("email", "jake@jake.jake", 1),
			},
		},
		{
			name:  "update with unchanged values",
			given: []any{registered},
			when:  accounts.UpdateUser{UserID: "u1", Username: ptr("jake"), Email: ptr("jake@jake.jake"), Bio: ptr("")},
			then:  nil,
		},
		{
			name:  "username follows earlier changes",
			given: []any{registered, accounts.UsernameChanged{UserID: "u1", Username: "jacob", Previous: "jake", Claim: 1}},
			when:  accounts.UpdateUser{UserID: "u1", Username: ptr("jake"), UsernameClaimAt: 2},
			then: []any{accounts.UsernameChanged{UserID: "u1", Username: "jake", Previous: "jacob", Claim: 3},
				claimOf("username", "jake", 2), releaseOf("username", "jacob", 1)},
		},
		{
			name:  "delete releases the claims",
			given: []any{registered, accounts.UsernameChanged{UserID: "u1", Username: "jacob", Previous: "jake", Claim: 3}},
			when:  accounts.DeleteUser{UserID: "u1"},
			then: []any{accounts.UserDeleted{UserID: "u1"},
				releaseOf("username", "jacob", 3), releaseOf("email", "jake@jake.jake", 1)},
		},
		{
			name:    "delete unknown user",
			when:    accounts.DeleteUser{UserID: "u1"},
			wantErr: accounts.ErrUserNotFound,
		},
		{
			name:    "delete twice",
			given:   []any{registered, accounts.UserDeleted{UserID: "u1"}},
			when:    accounts.DeleteUser{UserID: "u1"},
			wantErr: accounts.ErrUserNotFound,
		},
		{
			name:    "update a deleted user",
			given:   []any{registered, accounts.UserDeleted{UserID: "u1"}},
			when:    accounts.UpdateUser{UserID: "u1", Bio: ptr("hi")},
			wantErr: accounts.ErrUserNotFound,
		},
		{
			name:    "register a deleted user's id",
			given:   []any{registered, accounts.UserDeleted{UserID: "u1"}},
			when:    accounts.RegisterUser{UserID: "u1", Username: "jake", Email: "jake@jake.jake", HashedPassword: "h1"},
			wantErr: accounts.ErrAlreadyRegistered,
		},
		{
			name:      "update to blank username",
			given:     []any{registered},
			when:      accounts.UpdateUser{UserID: "u1", Username: ptr("")},
			wantField: "username",
		},
		{
			name:      "bio with NUL",
			given:     []any{registered},
			when:      accounts.UpdateUser{UserID: "u1", Bio: ptr("a\x00b")},
			wantField: "bio",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := actorstest.Aggregate(t, func() *accounts.User { return accounts.NewUser(streams) }).Given(tt.given...).When(tt.when)
			switch {
			case tt.wantErr != nil:
				c.ThenError(tt.wantErr)
			case tt.wantField != "":
				var verr validation.Errors
				c.ThenErrorAs(&verr)
				if len(verr[tt.wantField]) == 0 {
					t.Fatalf("validation error %v names no %s", verr, tt.wantField)
				}
			default:
				c.Then(tt.then...)
			}
		})
	}
}

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		username string
		ok       bool
	}{
		{"jake", true},
		{"celeb_u17000000001234", true},
		{"Jöhn-Doe", true},
		{"名前", true},
		{"", false},
		{"a b", false},
		{"a/b", false},
		{"..", false},
		{"robert'); DROP TABLE users;--", false},
		{"🐉", false},
		{strings.Repeat("a", accounts.MaxUsernameLength), true},
		{strings.Repeat("a", accounts.MaxUsernameLength+1), false},
	}
	for _, tt := range tests {
		var errs validation.Errors
		accounts.ValidateUsername(&errs, tt.username)
		if ok := errs.Err() == nil; ok != tt.ok {
			t.Errorf("ValidateUsername(%q) ok = %v, want %v (%v)", tt.username, ok, tt.ok, errs)
		}
	}
}

func TestValidateEmailAndPassword(t *testing.T) {
	emails := []struct {
		email string
		ok    bool
	}{
		{"jake@jake.jake", true},
		{"o'brien+tag@example.co.uk", true},
		{"jake", false},
		{"@jake", false},
		{"jake@", false},
		{"ja ke@jake.jake", false},
		{"a@b@c", false},
	}
	for _, tt := range emails {
		var errs validation.Errors
		accounts.ValidateEmail(&errs, tt.email)
		if ok := errs.Err() == nil; ok != tt.ok {
			t.Errorf("ValidateEmail(%q) ok = %v, want %v", tt.email, ok, tt.ok)
		}
	}
	passwords := []struct {
		password string
		ok       bool
	}{
		{"password", true},
		{"short", false},
		{"", false},
		{strings.Repeat("p", accounts.MaxPasswordLength), true},
		{strings.Repeat("p", accounts.MaxPasswordLength+1), false},
		{"pass\x00word", false},
	}
	for _, tt := range passwords {
		var errs validation.Errors
		accounts.ValidatePassword(&errs, tt.password)
		if ok := errs.Err() == nil; ok != tt.ok {
			t.Errorf("ValidatePassword(%d bytes) ok = %v, want %v", len(tt.password), ok, tt.ok)
		}
	}
}

func TestKeys(t *testing.T) {
	if accounts.UsernameKey("Jake") != accounts.UsernameKey("jake") {
		t.Error("usernames differing in case must collide")
	}
	// "é" precomposed and decomposed.
	if accounts.UsernameKey("caf\u00e9") != accounts.UsernameKey("cafe\u0301") {
		t.Error("usernames differing in normalization must collide")
	}
	if accounts.EmailKey("Jake@Example.COM") != "jake@example.com" {
		t.Error("email key is not lower case")
	}
}

// TestDeletedUserKeepsNothingPersonal: the state of a deleted user, which
// snapshots store, holds their id and nothing personal.
func TestDeletedUserKeepsNothingPersonal(t *testing.T) {
	u := accounts.NewUser(streams)
	for _, ev := range []any{registered, accounts.UserBioChanged{UserID: "u1", Bio: "my bio"},
		accounts.UserImageChanged{UserID: "u1", Image: "https://i.example/j.png"}, accounts.UserDeleted{UserID: "u1"}} {
		u.Apply(ev)
	}
	data, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"u1","state":"deleted","username":"","email":"","hashed_password":"","bio":"","image":""}`; string(data) != want {
		t.Fatalf("deleted user's state %s, want %s", data, want)
	}
}
