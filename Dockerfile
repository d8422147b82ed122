# One image recipe for every service: docker build --build-arg APP=billing-server .
# NODE_IMAGE: the base, the official Node 20 image unless a machine that cannot pull it gives
# a stand-in (.ci/docker-engine.sh builds one).
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE} AS build
WORKDIR /workspace
COPY package.json package-lock.json ./
# npm ci rejects lockfiles written without other platforms' optional builds (see TOOLCHAIN).
RUN npm install --no-audit --no-fund
COPY . .
ARG APP
RUN test -n "$APP" && NX_DAEMON=false NX_NO_CLOUD=true npx nx build "$APP" --configuration=production

FROM ${NODE_IMAGE}
ARG APP
ENV NODE_ENV=production HOST=0.0.0.0 DATA_DIR=/data LOG_FORMAT=json
WORKDIR /app
# The build writes a package.json with only the app's runtime dependencies.
COPY --from=build /workspace/dist/apps/${APP}/ ./
RUN npm install --omit=dev --no-audit --no-fund && mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
CMD ["node", "main.js"]
