# syntax=docker/dockerfile:1
# The production image of `campaign`: one image for every role (serve, worker, db migrate, any
# one-off command). docker-compose.yml beside this file runs it with PostgreSQL and WAHA.
#
#   docker build -t campaign .
#   docker run --rm campaign --help
#   docker run --rm --env-file .env -v campaign-data:/data campaign db status

# ---- build: full install (TypeScript, tsx), compile to dist/, then drop the dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Dependencies first, so this layer is reused while only the sources change. --ignore-scripts
# because package.json's `prepare` runs tsc, and the sources are not copied yet.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations

# `npm rebuild` runs the dependencies' install scripts skipped above (the embedded PostgreSQL
# binaries' symlinks, esbuild). The build compiles src/ and migrations/ into dist/. The prune
# keeps the already-installed production packages as they are (no reinstall, no scripts: a
# plain `npm ci --omit=dev` would run `prepare`, i.e. tsc, which is a dev dependency).
RUN npm rebuild --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: compiled code, production node_modules, non-root ----
FROM node:20-bookworm-slim AS runtime

# CAMPAIGN_HOME holds per-installation state (the embedded database when DATABASE_URL is unset,
# locks); MEDIA_DIR the Media Gallery files. Both live on the /data volume, which serve and
# worker share in docker-compose.yml.
ENV NODE_ENV=production \
    CAMPAIGN_HOME=/data \
    MEDIA_DIR=/data/media

# A dedicated unprivileged user. /data is created here, owned by it, so a named volume mounted
# there starts with that ownership. PostgreSQL (embedded mode) also refuses to run as root.
RUN groupadd --system --gid 10001 campaign \
 && useradd --system --uid 10001 --gid campaign --home-dir /data --no-create-home --shell /usr/sbin/nologin campaign \
 && mkdir -p /data/media \
 && chown -R campaign:campaign /data

WORKDIR /app
# The application files stay owned by root: the process can read them, not change them.
# package.json is needed at run time ("type": "module" makes dist/*.js ES modules).
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
# dist/src (the CLI, core, server, tui) and dist/migrations (the compiled schema migrations).
COPY --from=build /app/dist ./dist
# The template samples (`campaign templates list|show`), the dashboard's static files (served
# as they are: no build step) and the manual the dashboard's Docs page shows.
COPY templates ./templates
COPY src/server/public ./src/server/public
COPY README.md ./

USER campaign:campaign
VOLUME ["/data"]
EXPOSE 4100

ENTRYPOINT ["node", "/app/bin/campaign"]
CMD ["--help"]
