/** `node -r @costtrace/node/register`: CommonJS require hooks need no loader; start tracing. */
import './register.ts';
