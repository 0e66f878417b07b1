/* healthcheck.h -- `oigd healthcheck [URL]`: a tiny HTTP client for container health checks,
 * so that the runtime image needs no curl. */
#ifndef OIGD_HEALTHCHECK_H
#define OIGD_HEALTHCHECK_H
int healthcheck_main(int argc, char **argv);
#endif
