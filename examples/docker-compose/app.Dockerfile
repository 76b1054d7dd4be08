# The weather-agent API (examples/http-api) run from the repository's sources with tsx.
# Build context: the repository root (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY examples ./examples
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
EXPOSE 3000
USER node
# node runs as PID 1 with its own SIGTERM handler: `docker stop` drains the runs in flight before the process exits.
CMD ["node", "--import", "tsx", "examples/http-api/server.ts"]
