/** `node -r costtrace/register`: CommonJS require hooks need no loader; start tracing. */
import './register.ts';
