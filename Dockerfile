# levee's image: opa built from its pinned Go module, policies compiled and tested, then a
# slim non-root runtime with Node.js and only what `levee serve|probe|audit` needs.
#   docker build -t levee:dev .
#
# Base images are pinned to exact releases. Node.js is 24 LTS (supported until 2028-04-30), the
# release package.json pins for `npm test` (devDependency `node`), so the image runs what the
# tests ran. Pin them by digest as well where you build (`docker buildx imagetools inspect <image>`,
# then `FROM <image>@sha256:...`): the machine levee is developed on reaches no container
# registry, so no digest here could be read or checked.

FROM golang:1.26.8-bookworm AS opa
WORKDIR /src
ENV GOTOOLCHAIN=local LEVEE_CACHE_DIR=/opt/levee-tools
COPY tools/ tools/
RUN tools/build.sh opa && cp "$(tools/build.sh opa)" /usr/local/bin/opa

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/ scripts/
COPY src/ src/
COPY test/ test/
COPY policies/ policies/
COPY --from=opa /usr/local/bin/opa /usr/local/bin/opa
RUN LEVEE_OPA=/usr/local/bin/opa node scripts/build.mjs && npm prune --omit=dev

# The runtime is Debian slim (the same release as the node image's) with the node binary alone:
# no npm, npx, corepack or yarn. The binary needs glibc, libstdc++ and libgcc_s, all in the base.
FROM debian:bookworm-20260824-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/dist/src/ dist/src/
COPY --from=build /src/dist/policies/ dist/policies/
COPY bin/ bin/
USER 10001:10001
EXPOSE 8443
ENTRYPOINT ["node", "/app/bin/levee.js"]
CMD ["serve"]
