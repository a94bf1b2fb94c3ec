-- Conduit's read model. {{schema}} is replaced by the quoted schema name.
--
-- Every table is written only by its projector. created_at and updated_at
-- are domain times (when the events happened: what the API shows);
-- projected_at is when the projector last wrote the row, so that
-- projected_at - updated_at is the projection's lag.

-- Each projector's position in $all, written in the same transaction as
-- the rows of the events up to it.
CREATE TABLE {{schema}}.projection_checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Projector "users" (accounts events).
CREATE TABLE {{schema}}.users (
    id            text        PRIMARY KEY,
    username      text        NOT NULL,
    email         text        NOT NULL,
    email_key     text        NOT NULL,
    password_hash text        NOT NULL,
    bio           text        NOT NULL DEFAULT '',
    image         text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    projected_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Not unique: uniqueness is decided by claims in the event store, and a
-- projector must never stop on a constraint.
CREATE INDEX users_username ON {{schema}}.users (username);
CREATE INDEX users_email_key ON {{schema}}.users (email_key);

-- Projector "blog" (blog events, except comments).
CREATE TABLE {{schema}}.authors (
    id           text        PRIMARY KEY,
    user_id      text        NOT NULL,
    username     text        NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    projected_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE {{schema}}.follows (
    follower_id  text        NOT NULL,
    author_id    text        NOT NULL,
    created_at   timestamptz NOT NULL,
    projected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (follower_id, author_id)
);
CREATE INDEX follows_author ON {{schema}}.follows (author_id);

-- seq is the global position of the article's ArticlePublished event:
-- lists are ordered by it, newest first.
CREATE TABLE {{schema}}.articles (
    id              text        PRIMARY KEY,
    seq             bigint      NOT NULL,
    slug            text        NOT NULL,
    author_id       text        NOT NULL,
    title           text        NOT NULL,
    description     text        NOT NULL,
    body            text        NOT NULL,
    tag_list        text[]      NOT NULL,
    favorites_count integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    projected_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX articles_slug ON {{schema}}.articles (slug);
CREATE INDEX articles_seq ON {{schema}}.articles (seq DESC);
CREATE INDEX articles_author ON {{schema}}.articles (author_id, seq DESC);

CREATE TABLE {{schema}}.article_tags (
    article_id text   NOT NULL REFERENCES {{schema}}.articles (id) ON DELETE CASCADE,
    tag        text   NOT NULL,
    seq        bigint NOT NULL,
    PRIMARY KEY (article_id, tag)
);
CREATE INDEX article_tags_tag ON {{schema}}.article_tags (tag, seq DESC);

-- Tags in use, with the number of articles that carry each.
CREATE TABLE {{schema}}.tags (
    name          text        PRIMARY KEY,
    article_count integer     NOT NULL,
    projected_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE {{schema}}.favorites (
    article_id   text        NOT NULL REFERENCES {{schema}}.articles (id) ON DELETE CASCADE,
    author_id    text        NOT NULL,
    seq          bigint      NOT NULL,
    created_at   timestamptz NOT NULL,
    projected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (article_id, author_id)
);
CREATE INDEX favorites_author ON {{schema}}.favorites (author_id, seq DESC);

-- Each follower's feed: the articles of the authors they follow.
CREATE TABLE {{schema}}.feed (
    follower_id  text        NOT NULL,
    article_id   text        NOT NULL REFERENCES {{schema}}.articles (id) ON DELETE CASCADE,
    author_id    text        NOT NULL,
    seq          bigint      NOT NULL,
    projected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (follower_id, article_id)
);
CREATE INDEX feed_follower ON {{schema}}.feed (follower_id, seq DESC);
CREATE INDEX feed_author ON {{schema}}.feed (author_id);

-- Projector "comments". id is the global position of the comment's
-- ArticleCommented event: a stable integer id, as the API requires.
CREATE TABLE {{schema}}.comments (
    id           bigint      PRIMARY KEY,
    comment_id   text        NOT NULL,
    article_id   text        NOT NULL,
    author_id    text        NOT NULL,
    body         text        NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    projected_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX comments_comment_id ON {{schema}}.comments (comment_id);
CREATE INDEX comments_article ON {{schema}}.comments (article_id, id);
