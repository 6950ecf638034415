# Parley in a container, built from the same `npm run build` (via `npm pack`) as the npm package.
#   docker build -t parley .
#   docker run -d -p 8443:8443 -v parley-data:/data parley
# docs/DEPLOYMENT.md, "Docker", says what was and was not tried.

# 1. The package: compiled server and CLI, built web client (the tarball `npm pack` makes).
FROM node:22-bookworm-slim AS package
WORKDIR /src
COPY package.json package-lock.json ./
# Build tools only: the native modules are not needed to compile TypeScript and bundle the client.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm pack --pack-destination /tmp && mv /tmp/parley-*.tgz /tmp/parley.tgz

# 2. The package installed with its runtime dependencies only (better-sqlite3 may compile here).
FROM node:22-bookworm-slim AS install
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY --from=package /tmp/parley.tgz /tmp/parley.tgz
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/parley.tgz

# 3. What runs: Node, the installed package, an unprivileged user, the data folder as a volume.
FROM node:22-bookworm-slim
COPY --from=install /usr/local/lib/node_modules/parley /usr/local/lib/node_modules/parley
RUN ln -s ../lib/node_modules/parley/bin/parley.js /usr/local/bin/parley \
 && groupadd --system --gid 10001 parley \
 && useradd --system --uid 10001 --gid parley --home-dir /data --shell /usr/sbin/nologin parley \
 && mkdir -p /data && chown parley:parley /data && chmod 700 /data
USER parley
ENV NODE_ENV=production \
    PARLEY_DATA_DIR=/data \
    PARLEY_HOST=0.0.0.0 \
    PARLEY_PORT=8443 \
    PARLEY_TLS=self-signed
VOLUME /data
EXPOSE 8443
# Whatever TLS is in use, /healthz on loopback answers; the self-signed certificate is not checked here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD node -e "require('https').get({host:'127.0.0.1',port:process.env.PARLEY_PORT,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>require('http').get({host:'127.0.0.1',port:process.env.PARLEY_PORT,path:'/healthz'},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)))"
# SIGTERM (docker stop) shuts down cleanly: node is PID 1's only child of interest, so run it directly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/usr/local/lib/node_modules/parley/bin/parley.js"]
CMD ["serve"]
