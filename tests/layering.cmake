# The layering each folder's README states, enforced on the targets' link lists: a library may
# not reach (directly or through anything it links) a library its layer may not use. A breach
# stops the configure step with one line per breach. No binary is inspected here; the `unit-links`
# test (needed_libraries.cmake) checks the built unit-test binary itself.

# Every target `target` links, directly or through the interfaces of what it links, with aliases
# resolved to the real target names.
function(fleet_link_closure target out)
  set(seen "")
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue item)
    if(TARGET ${item})
      get_target_property(aliased ${item} ALIASED_TARGET)
      if(aliased)
        set(item ${aliased})
      endif()
    endif()
    if(item IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${item})
    if(NOT TARGET ${item})
      continue()
    endif()
    get_target_property(direct ${item} LINK_LIBRARIES)
    get_target_property(interface ${item} INTERFACE_LINK_LIBRARIES)
    foreach(link IN LISTS direct interface)
      # A static library's private links appear as $<LINK_ONLY:x> in its interface; they are
      # linked into every program that uses it. Other generator expressions ($<TARGET_OBJECTS>)
      # and CMake's cross-directory markers (::@...) name no library.
      if(link MATCHES "^\\$<LINK_ONLY:(.+)>$")
        set(link ${CMAKE_MATCH_1})
      elseif(link MATCHES "^\\$<" OR link MATCHES "^::@" OR link MATCHES "-NOTFOUND$")
        continue()
      endif()
      list(APPEND queue ${link})
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# fleet_may_not_link(<target> <forbidden>...): fails the configure step if <target> reaches any of
# <forbidden>.
function(fleet_may_not_link target)
  fleet_link_closure(${target} closure)
  foreach(forbidden IN LISTS ARGN)
    set(name ${forbidden})
    if(TARGET ${forbidden})
      get_target_property(aliased ${forbidden} ALIASED_TARGET)
      if(aliased)
        set(name ${aliased})
      endif()
    endif()
    if(name IN_LIST closure)
      message(SEND_ERROR "layering: ${target} links ${forbidden}, which its layer may not use "
                         "(see its folder's README.md)")
    endif()
  endforeach()
endfunction()

set(broker_clients PkgConfig::NATS PkgConfig::RDKAFKA)
set(sql_clients fleet::sql PkgConfig::SQLITE3 PkgConfig::LIBPQ)
set(above_broker fleet::outbox fleet::runtime fleet::worker_main fleet::flags fleet::saga
  fleet::projection fleet::dlq CLI11::CLI11)

# schemas/ and sql/ are below the broker.
fleet_may_not_link(fleet::schemas fleet::broker_api ${broker_clients} ${sql_clients})
fleet_may_not_link(fleet::sql fleet::broker_api ${broker_clients})
# broker/: the interfaces and the memory transport need no client library; each backend only its
# own; nothing of broker/ reaches a layer above it or CLI11.
fleet_may_not_link(fleet::broker_api ${broker_clients} ${sql_clients} ${above_broker})
fleet_may_not_link(fleet::broker_memory ${broker_clients} ${sql_clients} ${above_broker})
fleet_may_not_link(fleet::broker_jetstream PkgConfig::RDKAFKA ${sql_clients} ${above_broker})
fleet_may_not_link(fleet::broker_state ${broker_clients} ${above_broker})
fleet_may_not_link(fleet::broker_kafka PkgConfig::NATS ${above_broker})
# Layers above the broker program against its interfaces; only the programs that let the
# operator choose a transport (worker_main, cli/) link the transports.
fleet_may_not_link(fleet::flags ${broker_clients} ${sql_clients})
foreach(library fleet::outbox fleet::runtime fleet::saga fleet::projection fleet::dlq)
  fleet_may_not_link(${library} ${broker_clients} fleet::broker_jetstream fleet::broker_kafka
    fleet::broker_memory CLI11::CLI11)
endforeach()
# A test that needs only the memory transport links neither cnats nor librdkafka.
fleet_may_not_link(fleet-unit-tests ${broker_clients} fleet::broker_jetstream
  fleet::broker_kafka)
# Applications sit on top (examples/README.md): no fleet library reaches one, so an application's
# events, roles and read models stay in its own folder.
set(applications order_fulfilment::events order_fulfilment::commands fleet::demo fleet::projection)
foreach(library fleet::schemas fleet::sql fleet::broker fleet::outbox fleet::runtime
                fleet::worker_main fleet::flags fleet::saga fleet::dlq fleet::cli)
  fleet_may_not_link(${library} ${applications})
endforeach()
