/**
 * libxl JSON form of a domain config, the contract in docs/cli-json.md.
 */
package org.xenpci.libxl.json;
