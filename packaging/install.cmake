# What `cmake --install` puts where (GNUInstallDirs): the edge and its token tool, the example
# config, the browser client and demo, the systemd unit and the docs (docs/PACKAGING.md). With the
# prefix /usr (the Debian package) the config lands in /etc/mqedge and the unit in
# /lib/systemd/system; with the default /usr/local in /usr/local/etc/mqedge and
# /usr/local/lib/systemd/system (systemd reads both).
include(GNUInstallDirs)

set(MQEDGE_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mqedge")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(MQEDGE_DEFAULT_UNITDIR "/lib/systemd/system")   # where Debian 12's packages put units
else()
  set(MQEDGE_DEFAULT_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(MQEDGE_SYSTEMD_UNITDIR "${MQEDGE_DEFAULT_UNITDIR}" CACHE PATH "directory the systemd unit is installed to")

install(TARGETS mqedge mqedge-token RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The package's config reads its JWT secret from a file that postinst generates (random, per host),
# never the example's public placeholder; other prefixes install the example as it is.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/examples/mqedge.conf)
  file(READ ${CMAKE_SOURCE_DIR}/examples/mqedge.conf MQEDGE_CONF)
  set(placeholder "jwt-secret = change-me-to-a-long-random-string\n# or, kept out of this file: jwt-secret-file = /etc/mqedge/jwt-secret\n")
  string(FIND "${MQEDGE_CONF}" "${placeholder}" found)
  if(found EQUAL -1)
    message(FATAL_ERROR "examples/mqedge.conf no longer has the jwt-secret placeholder lines: update packaging/install.cmake")
  endif()
  string(REPLACE "${placeholder}" "# Generated at install (postinst: 32 random bytes, base64, 0640 root:mqedge); or jwt-secret = ...
jwt-secret-file = /etc/mqedge/jwt-secret
" MQEDGE_CONF "${MQEDGE_CONF}")
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/packaging/mqedge.conf CONTENT "${MQEDGE_CONF}")
  install(FILES ${CMAKE_BINARY_DIR}/packaging/mqedge.conf DESTINATION ${MQEDGE_CONFDIR})
else()
  install(FILES examples/mqedge.conf DESTINATION ${MQEDGE_CONFDIR})
endif()
install(DIRECTORY examples/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/mqedge/web)

# The unit in examples/ is written for the package's paths; other prefixes get them rewritten
# (ExecStart*, --config, Documentation=), so an installed unit always names installed files.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/examples/systemd/mqedge.service)
file(READ ${CMAKE_SOURCE_DIR}/examples/systemd/mqedge.service MQEDGE_UNIT)
foreach(path "/usr/bin/mqedge" "/etc/mqedge/mqedge.conf" "/usr/share/doc/mqedge/")
  string(FIND "${MQEDGE_UNIT}" "${path}" found)
  if(found EQUAL -1)
    message(FATAL_ERROR "examples/systemd/mqedge.service no longer names ${path}: update packaging/install.cmake")
  endif()
endforeach()
string(REGEX REPLACE "/usr(/local)?/bin/mqedge" "${CMAKE_INSTALL_FULL_BINDIR}/mqedge" MQEDGE_UNIT "${MQEDGE_UNIT}")
string(REPLACE "/etc/mqedge/" "${MQEDGE_CONFDIR}/" MQEDGE_UNIT "${MQEDGE_UNIT}")
string(REPLACE "/usr/share/doc/mqedge/" "${CMAKE_INSTALL_FULL_DOCDIR}/" MQEDGE_UNIT "${MQEDGE_UNIT}")
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/packaging/mqedge.service CONTENT "${MQEDGE_UNIT}" @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/packaging/mqedge.service DESTINATION ${MQEDGE_SYSTEMD_UNITDIR})

# Docs keep README's relative links (docs/..., examples/...) working under share/doc/mqedge.
install(FILES README.md BENCHMARKS.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES examples/mosquitto.conf examples/mqedge.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY examples/backend DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# What Debian requires of every package's doc directory: a copyright file and, for a versioned
# (non-native) package, changelog.Debian.gz (one entry per version, built here, gzip -9n).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  string(TIMESTAMP MQEDGE_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.Debian CONTENT
"mqedge (${PROJECT_VERSION}-1) unstable; urgency=medium

  * Built from the mqedge source tree (the project's history is its git log).

 -- mqedge developers <dev@mqedge.local>  @MQEDGE_CHANGELOG_DATE@
" @ONLY)
  execute_process(COMMAND gzip -9n -c ${CMAKE_BINARY_DIR}/packaging/changelog.Debian
    OUTPUT_FILE ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz RESULT_VARIABLE gzip_rc)
  if(NOT gzip_rc EQUAL 0)
    message(FATAL_ERROR "gzip of changelog.Debian failed: ${gzip_rc}")
  endif()
  install(FILES packaging/debian/copyright ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
