// ferryd: the generic head daemon. It has no functions of its own and serves
// whatever functions its worker nodes bring:
//
//   ferryd --listen tcp://0.0.0.0:5555 --cluster tcp://0.0.0.0:5556
//   my_worker --join tcp://HEAD:5556          # any program built on runtime::app

#include "runtime/app.hpp"

int main(int argc, char** argv) {
  ferry::runtime::app app{"ferryd"};
  return app.launch(argc, argv);
}
