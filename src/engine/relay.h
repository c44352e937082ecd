/* Hijacked connections stay with berthd's server; the shim gets one end of a socket pair
 * and this relay copies bytes between the two until both directions are done, passing
 * half-closes on (the client's stdin EOF, the process's end of output). */
#pragma once

/* Blocks until the inner side (the shim's) has closed. The client side is not closed. */
void relay_run(int client, int inner);
