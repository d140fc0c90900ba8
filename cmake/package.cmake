# Installation and the Debian package (cpack -G DEB; docs/operations.md,
# Install): the two binaries, the systemd unit, the docs and the examples.
# The package's dependencies are the Debian libraries the binaries load
# (dpkg-shlibdeps); its postinst makes the cohortlink system user.
include(GNUInstallDirs)
install(TARGETS cohortlink-server cohortlink RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/cohortlink-server.service
        DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/deploy/demo-server.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cohortlink)
set(CPACK_PACKAGE_VENDOR "cohortlink")
set(CPACK_PACKAGE_CONTACT "cohortlink maintainers <cohortlink@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Privacy-preserving record linkage server and client for public bodies")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/deploy/debian/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
