# Run by cpack before packaging (CPACK_PROJECT_CONFIG_FILE): the Debian package is only right for
# the prefix /usr, which its maintainer scripts and conffiles assume.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "the Debian package needs a tree configured with -DCMAKE_INSTALL_PREFIX=/usr "
    "(this one has ${CPACK_PACKAGING_INSTALL_PREFIX}); scripts/package.sh configures one")
endif()
