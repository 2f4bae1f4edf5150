# The Debian package: `cpack -G DEB` in a tree configured with -DCMAKE_INSTALL_PREFIX=/usr
# (scripts/package.sh does both; the target `package` is the same). Depends are computed by
# dpkg-shlibdeps from the binaries, plus what it cannot see (below). Maintainer scripts and the
# conffiles list: packaging/debian/. What the package does on install/remove/purge:
# docs/PACKAGING.md; tested by tests/package/debian-root.sh.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mqedge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "mqedge developers <dev@mqedge.local>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "WebSocket edge for browsers and devices over a shared MQTT broker")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION   # the synopsis above is its first line
  "mqedge puts browsers (WebSocket) and devices (MQTT) on one real-time fabric:\n\
rooms, direct messages, device telemetry and commands, presence, room history\n\
with resume, and an offline notification inbox, across any number of edges\n\
sharing one Mosquitto broker.")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # mqedge_VERSION-1_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)                 # the build tree keeps the debug info
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)    # libraries the binaries link, with versions
# Appended to what dpkg-shlibdeps finds, because it reads only DT_NEEDED:
# - libwebsockets-evlib-ev: libwebsockets dlopen()s its libev plugin when the edge asks for the
#   libev loop (event-loop = epoll, the default); without it the edge cannot start.
# - passwd: postinst creates the mqedge user with useradd (not Essential).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libwebsockets-evlib-ev, passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS mosquitto)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
  ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
  ${CMAKE_CURRENT_LIST_DIR}/debian/postrm
  ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The maintainer scripts and conffiles name /etc/mqedge and /usr/bin: refuse any other prefix.
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/cpack-check.cmake)
include(CPack)
