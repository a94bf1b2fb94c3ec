package httpapi

import (
	"net/http"

	"github.com/cohort-dev/cohort/conduit"
)

type credentials struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// userUpdate is the input of PUT /api/user; absent fields stay as they
// are.
type userUpdate struct {
	Username *string `json:"username"`
	Email    *string `json:"email"`
	Password *string `json:"password"`
	Bio      *string `json:"bio"`
	Image    *string `json:"image"`
}

// register: POST /api/users.
func (s *server) register(w http.ResponseWriter, r *http.Request) {
	in, err := decode[credentials](s, w, r, "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.app.RegisterUser(r.Context(), conduit.Registration{Username: in.Username, Email: in.Email, Password: in.Password})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusCreated, u, "")
}

// login: POST /api/users/login.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	in, err := decode[credentials](s, w, r, "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	done, err := s.limits.admitLogin(r, in.Email)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.app.Login(r.Context(), in.Email, in.Password)
	done(err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusOK, u, "")
}

// currentUser: GET /api/user.
func (s *server) currentUser(w http.ResponseWriter, r *http.Request, sess session) {
	s.writeUser(w, r, http.StatusOK, sess.user, sess.token)
}

// updateUser: PUT /api/user.
func (s *server) updateUser(w http.ResponseWriter, r *http.Request, sess session) {
	in, err := decode[userUpdate](s, w, r, "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.app.UpdateUser(r.Context(), sess.user.ID, conduit.UserUpdate{
		Username: in.Username, Email: in.Email, Password: in.Password, Bio: in.Bio, Image: in.Image})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token := sess.token
	if u.PasswordHash != sess.user.PasswordHash {
		token = "" // the change of password revoked it
	}
	s.writeUser(w, r, http.StatusOK, u, token)
}

// deleteUser: DELETE /api/user, beyond the RealWorld spec: deletes and
// forgets the caller (see conduit.App.DeleteUser) and answers 204 with no
// body. Their tokens stop working as it returns, so a second DELETE with
// the same token is 401.
func (s *server) deleteUser(w http.ResponseWriter, r *http.Request, sess session) {
	if err := s.app.DeleteUser(r.Context(), sess.user.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeUser answers with the user and a token: the given one, or a new
// one when token is empty.
func (s *server) writeUser(w http.ResponseWriter, r *http.Request, status int, u conduit.User, token string) {
	if token == "" {
		var err error
		if token, err = s.tokens.Issue(u.ID, u.PasswordHash); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, status, userDoc{User: newUserView(u, token)})
}

// profile: GET /api/profiles/{username}.
func (s *server) profile(w http.ResponseWriter, r *http.Request) {
	p, err := s.app.Profile(r.Context(), viewer(r), param(r, "username"))
	s.writeProfile(w, r, p, err)
}

// follow: POST /api/profiles/{username}/follow.
func (s *server) follow(w http.ResponseWriter, r *http.Request, sess session) {
	p, err := s.app.Follow(r.Context(), sess.user.ID, param(r, "username"))
	s.writeProfile(w, r, p, err)
}

// unfollow: DELETE /api/profiles/{username}/follow.
func (s *server) unfollow(w http.ResponseWriter, r *http.Request, sess session) {
	p, err := s.app.Unfollow(r.Context(), sess.user.ID, param(r, "username"))
	s.writeProfile(w, r, p, err)
}

func (s *server) writeProfile(w http.ResponseWriter, r *http.Request, p conduit.Profile, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, profileDoc{Profile: newProfileView(p)})
}
