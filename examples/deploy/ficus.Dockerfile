# ficus, and the example apps, in one image. Build from the repository root:
#   docker build -f examples/deploy/ficus.Dockerfile -t ficus .
# The default entry is the ficus CLI (`ficus start ...`, `ficus cdc run ...`); the example apps run
# the same image with another entrypoint (node dist/examples/<app>/main.js), see docker-compose.yml.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are copied; we build below.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY examples ./examples
COPY migrations ./migrations
COPY rules ./rules
COPY test ./test
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/rules ./rules
COPY --from=build /app/examples/deploy ./examples/deploy
# Runs as root so `POST /rules/rollback` can write the bind-mounted rules directory whatever its
# owner on the host; in production mount a directory owned by the `node` user and add `USER node`.
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["--help"]
