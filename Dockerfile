# levee's image: opa built from its pinned Go module, policies compiled and tested, then a
# slim non-root Node.js runtime with only what `levee serve|probe|audit` needs.
#   docker build -t levee:dev .

FROM golang:1.26-bookworm AS opa
WORKDIR /src
ENV GOTOOLCHAIN=local LEVEE_CACHE_DIR=/opt/levee-tools
COPY tools/ tools/
RUN tools/build.sh opa && cp "$(tools/build.sh opa)" /usr/local/bin/opa

FROM node:20-bookworm-slim AS build
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

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/dist/src/ dist/src/
COPY --from=build /src/dist/policies/ dist/policies/
COPY bin/ bin/
USER 10001:10001
EXPOSE 8443
ENTRYPOINT ["node", "/app/bin/levee.js"]
CMD ["serve"]
