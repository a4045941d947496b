# One image for every hsm-signer app. Pick the app with APP (build arg or run-time env):
#   docker build --build-arg APP=rpc-gateway -t hsm-signer/rpc-gateway .
#   docker run -e APP=signer-service hsm-signer
# The start-up path is the same one `npm start` uses: node dist/<app>/apps/<app>/src/main.js

# --- dependencies (native addons pkcs11js and secp256k1 need a toolchain) -----------------------
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/prisma-generate.mjs scripts/prisma-generate.mjs
COPY libs/persistence/prisma libs/persistence/prisma
COPY libs/persistence/prisma.config.ts libs/persistence/prisma.config.ts
# npm ci when the lock matches this platform's optional packages; npm install reconciles it otherwise
# (the same fallback scripts/ensure-env.mjs uses).
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund

# --- build all apps ---------------------------------------------------------------------------
FROM deps AS build
COPY . .
RUN npm run prisma:generate \
 && NX_DAEMON=false npx nx run-many -t build -p rpc-gateway rest-gateway nonce-service key-discovery signer-service \
 && npm prune --omit=dev --no-audit --no-fund

# --- dev tools: SoftHSM2 token set-up and account funding for docker-compose's dev stack ------
FROM deps AS dev
RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2 opensc \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npm run prisma:generate

# --- runtime ----------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
# softhsm2 lets the dev stack use a SoftHSM2 token; for AWS CloudHSM mount or install its
# PKCS#11 library (/opt/cloudhsm/lib/libcloudhsm_pkcs11.so) and point PKCS11_MODULE at it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/package.json package.json
COPY --from=build /app/libs/persistence/prisma libs/persistence/prisma
ARG APP=rpc-gateway
ENV APP=${APP}
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sh", "-c", "exec node dist/${APP}/apps/${APP}/src/main.js"]
